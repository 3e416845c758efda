package io.pbft.replica.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A replica's data directory: its write-ahead log in {@code wal/} and its application state in
 * {@code state/}. Opening it takes an exclusive lock, because two processes writing one log
 * would corrupt it, and checks an identity file, because a replica started on another replica's
 * (or another cluster's) data would replay votes it never cast.
 */
public final class DataDirectory implements AutoCloseable {
  private static final String LOCK = "LOCK";
  private static final String IDENTITY = "IDENTITY";
  private static final String IDENTITY_HEADER = "pbft-data-directory 1";
  private static final Pattern IDENTITY_FORMAT =
      Pattern.compile(Pattern.quote(IDENTITY_HEADER) + "\ncluster (\\S+)\nreplica (\\d+)\n");
  private static final Pattern CLUSTER_ID = Pattern.compile("[\\x21-\\x7e]{1,256}");

  private final Path root;
  private final String clusterId;
  private final int replicaId;
  private final FileChannel lockChannel;
  private final FileLock lock;

  private DataDirectory(Path root, String clusterId, int replicaId, FileChannel lockChannel, FileLock lock) {
    this.root = root;
    this.clusterId = clusterId;
    this.replicaId = replicaId;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /**
   * Opens (creating if missing) the data directory of replica {@code replicaId} of cluster
   * {@code clusterId}, and holds its lock until {@link #close()}.
   *
   * @throws StorageException if another process (or another open in this one) holds the
   *     directory, if it belongs to another replica or cluster, or if it cannot be written
   */
  public static DataDirectory open(Path dir, String clusterId, int replicaId) {
    if (clusterId == null || !CLUSTER_ID.matcher(clusterId).matches()) {
      throw new IllegalArgumentException("a cluster id is 1 to 256 printable characters without spaces, not \""
          + clusterId + "\"");
    }
    if (replicaId < 0) {
      throw new IllegalArgumentException("replica id must not be negative, not " + replicaId);
    }
    Path root = dir.toAbsolutePath().normalize();
    FileChannel channel = null;
    try {
      Files.createDirectories(root);
      channel = FileChannel.open(root.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;  // held by this very JVM: the same conflict as another process holding it
      }
      if (lock == null) {
        throw new StorageException("data directory " + root + " is in use by another running process");
      }
      // The lock comes first so that two processes cannot race on the identity file.
      checkIdentity(root, clusterId, replicaId);
      Files.createDirectories(root.resolve("wal"));
      Files.createDirectories(root.resolve("state"));
      syncDirectory(root);
      return new DataDirectory(root, clusterId, replicaId, channel, lock);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new StorageException("cannot open data directory " + root + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  /**
   * A stable id for a cluster: hex SHA-256 over its replicas' public keys in replica id order,
   * each prefixed by its length. It changes when the membership or any key changes.
   */
  public static String clusterId(List<byte[]> replicaPublicKeys) {
    if (replicaPublicKeys.isEmpty()) {
      throw new IllegalArgumentException("a cluster has at least one replica key");
    }
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      for (byte[] key : replicaPublicKeys) {
        sha256.update(ByteBuffer.allocate(Integer.BYTES).putInt(key.length).array());
        sha256.update(key);
      }
      return HexFormat.of().formatHex(sha256.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by every Java platform", e);
    }
  }

  public Path root() {
    return root;
  }

  /** Where the write-ahead log lives. */
  public Path walDir() {
    return root.resolve("wal");
  }

  /** Where the application keeps its durable state. */
  public Path stateDir() {
    return root.resolve("state");
  }

  public String clusterId() {
    return clusterId;
  }

  public int replicaId() {
    return replicaId;
  }

  /** Releases the lock. */
  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException ignored) {
      // Closing the channel below releases the lock as well.
    }
    closeQuietly(lockChannel);
  }

  private static void checkIdentity(Path root, String clusterId, int replicaId) throws IOException {
    Path file = root.resolve(IDENTITY);
    if (!Files.exists(file)) {
      String identity = IDENTITY_HEADER + "\ncluster " + clusterId + "\nreplica " + replicaId + "\n";
      // Written whole and renamed into place: a crash leaves either no identity or a complete one.
      Path temporary = root.resolve(IDENTITY + ".tmp");
      try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer bytes = ByteBuffer.wrap(identity.getBytes(StandardCharsets.US_ASCII));
        while (bytes.hasRemaining()) {
          out.write(bytes);
        }
        out.force(true);
      }
      Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
      return;
    }
    String content = Files.readString(file, StandardCharsets.US_ASCII);
    Matcher m = IDENTITY_FORMAT.matcher(content);
    if (!m.matches()) {
      throw new StorageException("data directory " + root + " has an unreadable " + IDENTITY
          + " file; it was not written by this program, or was damaged");
    }
    String foundCluster = m.group(1);
    String foundReplica = m.group(2);
    if (!foundCluster.equals(clusterId) || !foundReplica.equals(Integer.toString(replicaId))) {
      throw new StorageException("data directory " + root + " belongs to replica " + foundReplica + " of cluster "
          + foundCluster + ", not replica " + replicaId + " of cluster " + clusterId);
    }
  }

  private static void syncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // Nothing was written through it that could be lost.
      }
    }
  }
}
