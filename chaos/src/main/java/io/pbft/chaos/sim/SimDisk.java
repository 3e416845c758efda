package io.pbft.chaos.sim;

import io.pbft.proto.WalRecord;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.node.EffectApplier;
import java.util.ArrayList;
import java.util.List;

/**
 * The disk of one durable simulated replica: its write-ahead log as the runtime keeps it (records
 * appended, replaced by the live records at each compaction) and its newest application
 * checkpoint with the client table saved beside it. A restart loses the replica's memory, never
 * this. The simulator carries out effects between events, so every record reaches the disk
 * before the messages that depend on it leave, as the runtime's fsync guarantees.
 */
public final class SimDisk implements CheckpointStore, EffectApplier.Storage {
  private final List<WalRecord> log = new ArrayList<>();
  private long checkpointSequence;
  private byte[] clientTable = new byte[0];
  private byte[] appSnapshot;
  private StateMachine app;
  private long recordsWritten;

  /** The application whose state {@link #checkpoint} saves (a new one after each restart). */
  public void attach(StateMachine app) {
    this.app = app;
  }

  @Override
  public void checkpoint(long sequence, byte[] clientTable) {
    checkpointSequence = sequence;
    this.clientTable = clientTable.clone();
    appSnapshot = app.snapshot();
  }

  @Override
  public void stable(long sequence) {}

  /** Appends a burst's records (or compacts), as the runtime does before sending. */
  @Override
  public void persist(List<WalRecord> records, List<WalRecord> compaction) {
    log.addAll(records);
    recordsWritten += records.size();
    if (compaction != null) {
      log.clear();
      log.addAll(compaction);
    }
  }

  public long checkpointSequence() {
    return checkpointSequence;
  }

  public byte[] clientTable() {
    return clientTable.clone();
  }

  /** The application state of the newest checkpoint, or null if none was taken. */
  public byte[] appSnapshot() {
    return appSnapshot;
  }

  public List<WalRecord> log() {
    return List.copyOf(log);
  }

  long recordsWritten() {
    return recordsWritten;
  }

  /** The disk failed and an empty one took its place: no log, no checkpoint. */
  void wipe() {
    log.clear();
    checkpointSequence = 0;
    clientTable = new byte[0];
    appSnapshot = null;
  }
}
