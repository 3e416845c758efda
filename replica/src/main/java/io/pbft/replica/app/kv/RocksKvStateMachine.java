package io.pbft.replica.app.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.pbft.replica.app.DurableStateMachine;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.storage.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteBatchWithIndex;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key-value store of {@link KvStateMachine} kept in RocksDB, so the state may outgrow the
 * heap and survive restarts. Results, digests and snapshots are identical to the in-memory
 * store's for the same operations (both delegate to {@link KvExecutor}, {@link KvDigest} and
 * {@link KvSnapshotFormat}), so replicas of both kinds can run in one group and transfer state.
 *
 * <p>Layout under the state directory: {@code live/} is the database being executed against,
 * written without RocksDB's WAL and without sync; {@code checkpoints/<sequence>/} are durable
 * copies ({@link RocksCheckpoints}). Durability comes from checkpoints plus the replica's own
 * log: {@link #recover()} rebuilds {@code live/} from the newest checkpoint and the replica
 * replays its log from there. The digest accumulator is stored with each checkpoint in the
 * default column family; entries live in the {@code kv} column family, so a restore can drop
 * them all at once.
 */
public final class RocksKvStateMachine implements DurableStateMachine {
  private static final Logger log = LoggerFactory.getLogger(RocksKvStateMachine.class);
  private static final byte[] KV_FAMILY = "kv".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] META_KEY = "pbft-kv-checkpoint".getBytes(StandardCharsets.US_ASCII);
  /**
   * 2: entry hashes expanded with AES-CTR. A version-1 checkpoint (SHA-256 expansion) is read by
   * rehashing its entries, once, since its persisted accumulator sums the old hashes.
   */
  private static final int META_VERSION = 2;
  private static final int META_VERSION_SHA256_EXPANSION = 1;
  /** A restore is written in batches of about this size, so it needs no more memory than that. */
  private static final long RESTORE_BATCH_BYTES = 4 << 20;

  static {
    RocksDB.loadLibrary();
  }

  private final Path stateDir;
  private final Path liveDir;
  private final RocksCheckpoints checkpoints;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions familyOptions = new ColumnFamilyOptions();
  // No WAL and no sync: what is lost in a crash is replayed from the replica's own log.
  private final WriteOptions writeOptions = new WriteOptions().setDisableWAL(true).setSync(false);
  private final ReadOptions readOptions = new ReadOptions();
  private final FlushOptions flushOptions = new FlushOptions().setWaitForFlush(true);
  private RocksDB db;
  private ColumnFamilyHandle metaFamily;
  private ColumnFamilyHandle kvFamily;
  private KvDigest digest;
  private KvExecutor executor;
  /** Set when the live database may disagree with the digest; cleared by {@link #recover()}. */
  private StorageException failure;

  private RocksKvStateMachine(Path stateDir) throws IOException {
    this.stateDir = stateDir;
    this.liveDir = stateDir.resolve("live");
    this.checkpoints = new RocksCheckpoints(stateDir.resolve("checkpoints"));
    this.dbOptions = new DBOptions()
        .setCreateIfMissing(true)
        .setCreateMissingColumnFamilies(true)
        // Without a WAL, only an atomic flush keeps the entries and the digest accumulator of a
        // checkpoint from different moments.
        .setAtomicFlush(true)
        // The live database is rebuilt from a checkpoint at every start: flushing it at close is wasted work.
        .setAvoidFlushDuringShutdown(true)
        .setKeepLogFileNum(3)
        .setMaxLogFileSize(16 << 20);
  }

  /**
   * Opens the store kept in {@code stateDir} (created if missing). Call {@link #recover()}
   * before anything else: it decides which state the store starts from.
   */
  public static RocksKvStateMachine open(Path stateDir) {
    try {
      Files.createDirectories(stateDir);
      return new RocksKvStateMachine(stateDir);
    } catch (IOException e) {
      throw new StorageException("cannot open the key-value state in " + stateDir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public long recover() {
    closeDatabase();
    failure = null;
    try {
      checkpoints.removeIncomplete();
      OptionalLong newest = checkpoints.newestComplete();
      RocksCheckpoints.deleteRecursively(liveDir);
      if (newest.isPresent()) {
        // Built aside and renamed, so a crash in between leaves no half-built live database.
        Path staging = stateDir.resolve("live.tmp");
        RocksCheckpoints.deleteRecursively(staging);
        checkpoints.materialize(newest.getAsLong(), staging);
        Files.move(staging, liveDir, StandardCopyOption.ATOMIC_MOVE);
      }
      openDatabase();
      long sequence = newest.orElse(0);
      digest = sequence == 0 ? new KvDigest() : readMeta(sequence);
      executor = new KvExecutor(digest);
      log.info("key-value state in {} recovered to checkpoint {} ({} entries)", stateDir, sequence, digest.count());
      return sequence;
    } catch (IOException | RocksDBException e) {
      closeDatabase();
      throw new StorageException("cannot recover the key-value state in " + stateDir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
    ensureUsable();
    try (WriteBatchWithIndex batch = new WriteBatchWithIndex(true)) {
      List<byte[]> results = executor.execute(new BatchEntries(batch), operations);
      if (batch.count() > 0) {
        db.write(writeOptions, batch);
      }
      return results;
    } catch (RocksDBException | StorageException e) {
      throw fail("executing batch " + context.sequence(), e);
    }
  }

  @Override
  public byte[] query(byte[] operation) {
    ensureUsable();
    return executor.query(new BatchEntries(null), operation);
  }

  @Override
  public byte[] stateDigest() {
    ensureUsable();
    return digest.digest();
  }

  /** Number of keys stored. */
  public long size() {
    ensureUsable();
    return digest.count();
  }

  /** Streams the entries through an iterator (a consistent view) into the snapshot format. */
  @Override
  public byte[] snapshot() {
    ensureUsable();
    return serialize(readOptions, digest.count());
  }

  /**
   * A RocksDB snapshot: free to take (the store keeps the versions it pins), read only when
   * someone asks for the bytes.
   */
  @Override
  public Frozen freeze() {
    ensureUsable();
    org.rocksdb.Snapshot pinned = db.getSnapshot();
    long count = digest.count();
    RocksDB owner = db;
    return new Frozen() {
      private byte[] bytes;
      private boolean released;

      @Override
      public synchronized byte[] bytes() {
        if (released) {
          throw new IllegalStateException("frozen view already released");
        }
        if (bytes == null) {
          try (ReadOptions at = new ReadOptions().setSnapshot(pinned)) {
            bytes = serialize(at, count);
          }
        }
        return bytes;
      }

      @Override
      public synchronized void release() {
        if (!released) {
          released = true;
          bytes = null;
          if (owner == db) {
            owner.releaseSnapshot(pinned);
          }
        }
      }
    };
  }

  /** The digest of the live entries, computed entry by entry. */
  private KvDigest rehash() {
    KvDigest d = new KvDigest();
    try (ReadOptions options = new ReadOptions(); RocksIterator it = db.newIterator(kvFamily, options)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        d.add(UnsafeByteOperations.unsafeWrap(it.key()), UnsafeByteOperations.unsafeWrap(it.value()));
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("cannot read the key-value state in " + liveDir + ": " + e.getMessage(), e);
    }
    return d;
  }

  private byte[] serialize(ReadOptions options, long count) {
    KvSnapshotFormat.Writer writer = new KvSnapshotFormat.Writer(count);
    try (RocksIterator it = db.newIterator(kvFamily, options)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        // Fresh arrays from JNI that nobody else holds: wrapping them copies nothing.
        writer.entry(UnsafeByteOperations.unsafeWrap(it.key()), UnsafeByteOperations.unsafeWrap(it.value()));
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("cannot read the key-value state in " + liveDir + ": " + e.getMessage(), e);
    }
    return writer.finish();
  }

  /**
   * Replaces the whole content with the snapshot's. The snapshot is checked completely before
   * anything is dropped, so a malformed one (from a faulty replica) leaves the state alone.
   *
   * @throws IllegalArgumentException if the bytes are not a well-formed snapshot
   */
  @Override
  public void restore(byte[] snapshot) {
    ensureUsable();
    KvSnapshotFormat.read(snapshot, (key, value) -> { });
    KvDigest restored = new KvDigest();
    try {
      // Dropping the column family discards every entry at once, however many there are.
      db.dropColumnFamily(kvFamily);
      kvFamily.close();
      kvFamily = db.createColumnFamily(new ColumnFamilyDescriptor(KV_FAMILY, familyOptions));
      try (WriteBatch batch = new WriteBatch()) {
        KvSnapshotFormat.read(snapshot, (key, value) -> {
          try {
            batch.put(kvFamily, key.toByteArray(), value.toByteArray());
            restored.add(key, value);
            if (batch.getDataSize() >= RESTORE_BATCH_BYTES) {
              db.write(writeOptions, batch);
              batch.clear();
            }
          } catch (RocksDBException e) {
            throw new StorageException(e.getMessage(), e);
          }
        });
        db.write(writeOptions, batch);
      }
    } catch (RocksDBException | StorageException e) {
      throw fail("restoring a snapshot", e);
    }
    digest = restored;
    executor = new KvExecutor(digest);
  }

  @Override
  public void checkpoint(long sequence) {
    ensureUsable();
    if (sequence <= 0) {
      throw new IllegalArgumentException("checkpoint sequence numbers start at 1, not " + sequence);
    }
    if (checkpoints.isComplete(sequence)) {
      throw new IllegalStateException("checkpoint " + sequence + " already exists in " + checkpoints.path(sequence)
          + "; a sequence number is checkpointed once");
    }
    try {
      checkpoints.removeAt(sequence);
      db.put(metaFamily, writeOptions, META_KEY, encodeMeta(sequence));
      // Flushing is what makes a checkpoint cost what changed since the last one: the new SST
      // files hold the memtables, and everything older is hard-linked.
      db.flush(flushOptions, List.of(metaFamily, kvFamily));
      try (Checkpoint checkpoint = Checkpoint.create(db)) {
        checkpoint.createCheckpoint(checkpoints.path(sequence).toString());
      }
      checkpoints.markComplete(sequence);
    } catch (RocksDBException | IOException e) {
      throw new StorageException("cannot write checkpoint " + sequence + " to " + checkpoints.path(sequence) + ": "
          + e.getMessage(), e);
    }
  }

  @Override
  public void discardCheckpointsBelow(long sequence) {
    try {
      checkpoints.discardBelow(sequence);
    } catch (IOException e) {
      throw new StorageException("cannot delete checkpoints below " + sequence + " in " + stateDir + ": "
          + e.getMessage(), e);
    }
  }

  /** Sequence numbers of the complete checkpoints on disk, ascending. */
  public List<Long> checkpoints() {
    try {
      return checkpoints.complete();
    } catch (IOException e) {
      throw new StorageException("cannot list checkpoints in " + stateDir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    closeDatabase();
    flushOptions.close();
    readOptions.close();
    writeOptions.close();
    familyOptions.close();
    dbOptions.close();
  }

  // ---------------------------------------------------------------- internals

  private void openDatabase() throws RocksDBException {
    List<ColumnFamilyDescriptor> descriptors = List.of(
        new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, familyOptions),
        new ColumnFamilyDescriptor(KV_FAMILY, familyOptions));
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    db = RocksDB.open(dbOptions, liveDir.toString(), descriptors, handles);
    metaFamily = handles.get(0);
    kvFamily = handles.get(1);
  }

  private void closeDatabase() {
    if (db == null) {
      return;
    }
    metaFamily.close();
    kvFamily.close();
    db.close();
    db = null;
  }

  private byte[] encodeMeta(long sequence) {
    return ByteBuffer.allocate(Integer.BYTES + Long.BYTES + KvDigest.ENCODED_BYTES)
        .putInt(META_VERSION).putLong(sequence).put(digest.encode()).array();
  }

  private KvDigest readMeta(long sequence) throws RocksDBException {
    byte[] meta = db.get(metaFamily, META_KEY);
    String where = "checkpoint " + sequence + " in " + checkpoints.path(sequence);
    if (meta == null || meta.length != Integer.BYTES + Long.BYTES + KvDigest.ENCODED_BYTES) {
      throw new StorageException(where + " has no readable digest record; delete it to fall back to an older one");
    }
    ByteBuffer in = ByteBuffer.wrap(meta);
    int version = in.getInt();
    long recorded = in.getLong();
    if ((version != META_VERSION && version != META_VERSION_SHA256_EXPANSION) || recorded != sequence) {
      throw new StorageException(where + " records version " + version + " and sequence " + recorded
          + "; it was not written as this checkpoint");
    }
    if (version == META_VERSION_SHA256_EXPANSION) {
      KvDigest rehashed = rehash();
      log.info("{} was written by an older version: its digest was recomputed over its {} entries", where,
          rehashed.count());
      return rehashed;
    }
    return KvDigest.decode(Arrays.copyOfRange(meta, Integer.BYTES + Long.BYTES, meta.length));
  }

  private void ensureUsable() {
    if (db == null) {
      throw new IllegalStateException("the key-value state in " + stateDir + " is not open: call recover() first");
    }
    if (failure != null) {
      throw new StorageException(failure.getMessage(), failure);
    }
  }

  /** The live database and the digest may now disagree; only {@link #recover()} fixes that. */
  private StorageException fail(String action, Exception e) {
    failure = new StorageException("key-value state in " + liveDir + " failed " + action + ": " + e.getMessage()
        + "; recover() from the last checkpoint before using it again", e);
    return failure;
  }

  /** Reads through a pending batch (null: none) to the database, and writes into the batch. */
  private final class BatchEntries implements KvEntries {
    private final WriteBatchWithIndex batch;

    BatchEntries(WriteBatchWithIndex batch) {
      this.batch = batch;
    }

    @Override
    public ByteString get(ByteString key) {
      try {
        byte[] value = batch == null
            ? db.get(kvFamily, readOptions, key.toByteArray())
            : batch.getFromBatchAndDB(db, kvFamily, readOptions, key.toByteArray());
        return value == null ? null : UnsafeByteOperations.unsafeWrap(value);
      } catch (RocksDBException e) {
        throw new StorageException("cannot read from " + liveDir + ": " + e.getMessage(), e);
      }
    }

    @Override
    public void put(ByteString key, ByteString value) {
      try {
        batch.put(kvFamily, key.toByteArray(), value.toByteArray());
      } catch (RocksDBException e) {
        throw new StorageException("cannot write to " + liveDir + ": " + e.getMessage(), e);
      }
    }

    @Override
    public void remove(ByteString key) {
      try {
        batch.delete(kvFamily, key.toByteArray());
      } catch (RocksDBException e) {
        throw new StorageException("cannot write to " + liveDir + ": " + e.getMessage(), e);
      }
    }
  }
}
