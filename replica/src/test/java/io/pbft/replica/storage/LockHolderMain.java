package io.pbft.replica.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Run in a child process by {@link DataDirectoryTest}: opens the data directory given as the
 * first argument, prints "locked", and holds it until its standard input closes.
 */
public final class LockHolderMain {
  private LockHolderMain() {}

  public static void main(String[] args) throws IOException {
    DataDirectory held = DataDirectory.open(Path.of(args[0]), "cluster-a", 0);
    try {
      System.out.println("locked");
      System.out.flush();
      while (System.in.read() != -1) {
        // Wait for the parent to close our input.
      }
    } finally {
      held.close();
    }
  }
}
