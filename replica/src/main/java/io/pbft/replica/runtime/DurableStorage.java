package io.pbft.replica.runtime;

import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.proto.WalRecord;
import io.pbft.replica.app.DurableStateMachine;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.storage.CorruptLogException;
import io.pbft.replica.storage.DataDirectory;
import io.pbft.replica.storage.StorageException;
import io.pbft.replica.storage.WriteAheadLog;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's data directory at run time: its write-ahead log, its durable application and the
 * client tables saved beside the application's checkpoints. The log is written by the event loop
 * thread, the checkpoints by the execution thread.
 *
 * <p>Ordering contract: {@link #persist} makes a burst's records durable (one fsync for all of
 * them) before the caller sends any message of the same burst.
 */
final class DurableStorage implements CheckpointStore, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DurableStorage.class);

  private final DataDirectory directory;
  private final DurableStateMachine app;
  private final WriteAheadLog wal;
  private final long appSequence;
  private final byte[] clientTable;
  private final List<WalRecord> records;
  private long lastCheckpointed;

  private DurableStorage(DataDirectory directory, DurableStateMachine app, WriteAheadLog wal, long appSequence,
      byte[] clientTable, List<WalRecord> records) {
    this.directory = directory;
    this.app = app;
    this.wal = wal;
    this.appSequence = appSequence;
    this.clientTable = clientTable;
    this.records = records;
    this.lastCheckpointed = appSequence;
  }

  /**
   * Opens (or creates) replica {@code id}'s data directory and reads back what it holds. A log
   * corrupted in the middle is set aside, with the application state, and the replica starts
   * empty: it then recovers its state from its peers rather than run on bad data.
   */
  static DurableStorage open(ClusterConfig config, int id, Path dir, Function<Path, DurableStateMachine> appFactory,
      WriteAheadLog.Options walOptions) {
    List<byte[]> keys = new ArrayList<>();
    for (ReplicaInfo r : config.replicas()) {
      keys.add(r.publicKey());
    }
    DataDirectory directory = DataDirectory.open(dir, DataDirectory.clusterId(keys), id);
    try {
      List<WalRecord> records = new ArrayList<>();
      WriteAheadLog.Opened opened;
      try {
        opened = openLog(directory, records, walOptions);
      } catch (CorruptLogException e) {
        log.error("replica {}: write-ahead log is corrupt ({}); setting the log and state aside and recovering "
            + "from peers", id, e.getMessage());
        setAside(directory);
        records.clear();
        opened = openLog(directory, records, walOptions);
      }
      opened.tornTail().ifPresent(t -> log.warn("replica {}: cut a torn record off the log's tail: {}", id, t));
      DurableStateMachine app = appFactory.apply(directory.stateDir());
      long appSequence = app.recover();
      byte[] clientTable = new byte[0];
      if (appSequence > 0) {
        Path table = clientsFile(directory, appSequence);
        if (!Files.exists(table)) {
          throw new StorageException("data directory " + dir + ": checkpoint " + appSequence
              + " has no client table (" + table + ")");
        }
        clientTable = Files.readAllBytes(table);
      }
      log.info("replica {}: data directory {}: application checkpoint {}, {} log records", id, dir, appSequence,
          records.size());
      return new DurableStorage(directory, app, opened.log(), appSequence, clientTable, records);
    } catch (IOException e) {
      directory.close();
      throw new StorageException("cannot read data directory " + dir + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      directory.close();
      throw e;
    }
  }

  private static WriteAheadLog.Opened openLog(DataDirectory directory, List<WalRecord> records,
      WriteAheadLog.Options walOptions) {
    return WriteAheadLog.open(directory.walDir(), walOptions, (index, payload) -> {
      try {
        records.add(WalRecord.parseFrom(payload));
      } catch (InvalidProtocolBufferException e) {
        throw new CorruptLogException(directory.walDir(), index,
            "record " + index + " passed its checksum but does not parse");
      }
    });
  }

  /** Moves a corrupt log and the state that goes with it out of the way, keeping them for study. */
  private static void setAside(DataDirectory directory) throws IOException {
    String suffix = ".corrupt-" + System.currentTimeMillis();
    for (Path p : List.of(directory.walDir(), directory.stateDir())) {
      if (Files.exists(p)) {
        Files.move(p, p.resolveSibling(p.getFileName() + suffix), StandardCopyOption.ATOMIC_MOVE);
        Files.createDirectories(p);
      }
    }
  }

  private static Path clientsFile(DataDirectory directory, long sequence) {
    return directory.stateDir().resolve("clients-" + sequence + ".bin");
  }

  DurableStateMachine app() {
    return app;
  }

  long appSequence() {
    return appSequence;
  }

  byte[] clientTable() {
    return clientTable;
  }

  List<WalRecord> records() {
    return records;
  }

  long diskBytes() {
    return wal.diskBytes();
  }

  /** Told how long each write and fsync of the log took, in ns (on the event loop); null: nobody. */
  private volatile LongConsumer syncObserver;

  /** From now on, {@code observer} hears how long each {@link #persist}'s write and fsync took. */
  void onSync(LongConsumer observer) {
    syncObserver = observer;
  }

  /** Appends a burst's records (and its compaction) and fsyncs once. */
  void persist(List<WalRecord> records, List<WalRecord> compaction) {
    if (records.isEmpty() && compaction == null) {
      return;
    }
    for (WalRecord r : records) {
      wal.append(r.toByteArray());
    }
    long compactedFrom = -1;
    if (compaction != null) {
      for (WalRecord r : compaction) {
        long index = wal.append(r.toByteArray());
        if (compactedFrom < 0) {
          compactedFrom = index;
        }
      }
    }
    long start = System.nanoTime();
    wal.sync();
    LongConsumer observer = syncObserver;
    if (observer != null) {
      observer.accept(System.nanoTime() - start);
    }
    if (compactedFrom >= 0) {
      wal.truncateBefore(compactedFrom);
    }
  }

  @Override
  public void checkpoint(long sequence, byte[] table) {
    if (sequence <= lastCheckpointed) {
      return; // replaying batches after a restart: that checkpoint is on disk already
    }
    Path file = clientsFile(directory, sequence);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(java.nio.ByteBuffer.wrap(table));
      ch.force(true);
    } catch (IOException e) {
      throw new StorageException("cannot write " + file + ": " + e.getMessage(), e);
    }
    app.checkpoint(sequence);
    lastCheckpointed = sequence;
  }

  @Override
  public void stable(long sequence) {
    app.discardCheckpointsBelow(sequence);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(directory.stateDir(), "clients-*.bin")) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        long s = Long.parseLong(name.substring("clients-".length(), name.length() - ".bin".length()));
        if (s < sequence) {
          Files.deleteIfExists(f);
        }
      }
    } catch (IOException | NumberFormatException e) {
      log.warn("could not delete old client tables in {}: {}", directory.stateDir(), e.toString());
    }
  }

  @Override
  public void close() {
    try {
      wal.close();
    } catch (RuntimeException e) {
      log.warn("closing the log: {}", e.toString());
    }
    try {
      app.close();
    } catch (Exception e) {
      log.warn("closing the application state: {}", e.toString());
    }
    directory.close();
  }
}
