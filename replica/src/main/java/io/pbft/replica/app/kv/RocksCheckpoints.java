package io.pbft.replica.app.kv;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checkpoint directories of a {@link RocksKvStateMachine}: {@code checkpoints/<sequence>/},
 * each a RocksDB checkpoint (SST files hard-linked from the live database, small files copied).
 *
 * <p>A checkpoint counts only once the marker file inside it exists, and the marker is written
 * after everything else in the directory has been fsynced. A crash halfway through a checkpoint
 * therefore leaves a directory without the marker, which recovery deletes instead of trusting.
 */
final class RocksCheckpoints {
  private static final Logger log = LoggerFactory.getLogger(RocksCheckpoints.class);
  static final String COMPLETE_MARKER = "PBFT-CHECKPOINT-COMPLETE";
  /** A checkpoint directory, or RocksDB's staging directory for one (renamed when done). */
  private static final Pattern NAME = Pattern.compile("(\\d{1,19})(\\.tmp)?");

  private final Path dir;

  RocksCheckpoints(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
  }

  Path path(long sequence) {
    return dir.resolve(Long.toString(sequence));
  }

  boolean isComplete(long sequence) {
    return Files.isRegularFile(path(sequence).resolve(COMPLETE_MARKER));
  }

  /** Sequence numbers of complete checkpoints, ascending. */
  List<Long> complete() throws IOException {
    List<Long> complete = new ArrayList<>();
    for (Path path : listAll()) {
      Matcher m = parse(path);
      if (m.group(2) == null && isComplete(Long.parseLong(m.group(1)))) {
        complete.add(Long.parseLong(m.group(1)));
      }
    }
    complete.sort(null);
    return complete;
  }

  OptionalLong newestComplete() throws IOException {
    List<Long> complete = complete();
    return complete.isEmpty() ? OptionalLong.empty() : OptionalLong.of(complete.get(complete.size() - 1));
  }

  /** Deletes what interrupted checkpoints left behind. */
  void removeIncomplete() throws IOException {
    for (Path path : listAll()) {
      Matcher m = parse(path);
      if (m.group(2) != null || !isComplete(Long.parseLong(m.group(1)))) {
        log.warn("deleting {}: a checkpoint that did not complete (the process stopped while taking it)", path);
        deleteRecursively(path);
      }
    }
  }

  /** Deletes anything at {@code sequence}, complete or not, before a new checkpoint is taken there. */
  void removeAt(long sequence) throws IOException {
    deleteRecursively(path(sequence));
    deleteRecursively(dir.resolve(sequence + ".tmp"));
  }

  /**
   * Declares checkpoint {@code sequence} complete: fsyncs every file in it (so the marker can
   * never be durable before what it vouches for), then writes and fsyncs the marker, then the
   * directories that name them.
   */
  void markComplete(long sequence) throws IOException {
    Path checkpoint = path(sequence);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(checkpoint)) {
      for (Path file : files) {
        fsync(file);
      }
    }
    Path marker = checkpoint.resolve(COMPLETE_MARKER);
    Files.writeString(marker, "checkpoint " + sequence + "\n");
    fsync(marker);
    fsync(checkpoint);
    fsync(dir);
  }

  /** Deletes checkpoints below {@code sequence}, never the newest complete one. */
  void discardBelow(long sequence) throws IOException {
    OptionalLong newest = newestComplete();
    for (Path path : listAll()) {
      Matcher m = parse(path);
      long found = Long.parseLong(m.group(1));
      boolean newestComplete = m.group(2) == null && newest.isPresent() && found == newest.getAsLong();
      if (found < sequence && !newestComplete) {
        deleteRecursively(path);
      }
    }
  }

  /**
   * Builds a database directory at {@code target} holding checkpoint {@code sequence}. SST and
   * blob files are immutable once written, so they are hard-linked: the cost does not grow with
   * the state. Everything else (MANIFEST, CURRENT, OPTIONS) is copied, because RocksDB may write
   * to those after opening.
   */
  void materialize(long sequence, Path target) throws IOException {
    Files.createDirectories(target);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(path(sequence))) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        if (name.equals(COMPLETE_MARKER)) {
          continue;
        }
        if (name.endsWith(".sst") || name.endsWith(".blob")) {
          Files.createLink(target.resolve(name), file);
        } else {
          Files.copy(file, target.resolve(name));
        }
      }
    }
  }

  private static Matcher parse(Path path) {
    Matcher m = NAME.matcher(path.getFileName().toString());
    if (!m.matches()) {
      throw new IllegalStateException(path + " was listed as a checkpoint but is not named like one");
    }
    return m;
  }

  private List<Path> listAll() throws IOException {
    List<Path> paths = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path path : entries) {
        if (NAME.matcher(path.getFileName().toString()).matches()) {
          paths.add(path);
        }
      }
    }
    return paths;
  }

  static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    Files.walkFileTree(path, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path directory, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        Files.delete(directory);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  private static void fsync(Path path) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }
}
