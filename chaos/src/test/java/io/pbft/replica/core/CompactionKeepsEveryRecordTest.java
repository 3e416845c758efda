package io.pbft.replica.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.config.ProtocolSettings;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.WalRecord;
import io.pbft.replica.app.kv.KvOperations;
import io.pbft.replica.app.kv.KvStateMachine;
import java.lang.reflect.Field;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.execution.Execution;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.node.EffectApplier;
import io.pbft.replica.node.InlineReplica;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import org.junit.jupiter.api.Test;

/**
 * Regression test for a bug the chaos harness found: records written in the same event after a
 * compaction were lost, so a replica restarted from its disk was not where it had been, and could
 * contradict itself. Fixed by computing the compaction when the effects are handed out.
 *
 * <p>Found as: NemesisAdditionsTest.primaryThatCrashesLosingMemoryComesBackAndNeverContradictsItself
 * (simulator seed 66, {@code Faults.restart(0, 350, 900)}): the restarted primary fails with a
 * NullPointerException in ReplicaCore.onHeartbeat (CommittedCertificate.Builder.setPrePrepare),
 * serving a committed certificate for a slot that has no pre-prepare.
 *
 * <p>Why it failed: {@link Effects#compaction()} was computed when a checkpoint becomes stable
 * (ReplicaCore.makeStable, via compactTo(liveRecords())), but the event goes on producing
 * records: executeReady() keeps executing committed batches after the checkpoint (COMMITTED
 * records), and makeStable() ends with proposeBatches() (a primary's "sent" PRE-PREPAREs). The
 * runtime (DurableStorage.persist) appends records(), then the compaction, and truncates
 * everything before the compaction, as the Effects contract says; so do the simulator and this
 * test. Everything recorded after compactTo() in that event is gone: a restarted backup has
 * forgotten batches it executed (this test: executed up to 6, restarted at 4); a restarted
 * primary has forgotten pre-prepares it sent, so it may pre-prepare a different batch at the
 * same sequence number (a correct replica equivocating), and a slot it then executes from a
 * later COMMITTED record has a null pre-prepare (the NullPointerException).
 *
 *
 * <p>This test drives four durable cores directly (replica 3 lags, and hears of stable
 * checkpoints before it executes up to them) and, after every burst that compacts, restarts the
 * replica from what its disk holds and compares.
 */

class CompactionKeepsEveryRecordTest {
  private static final int N = 4;
  /** One request per batch, checkpoints every 4, a window of 8. */
  private static final ProtocolSettings SETTINGS = ProtocolSettings.newBuilder().batchSizeMax(1).batchBytesMax(1 << 20)
      .windowSize(8).pipelineDepthMax(4).checkpointInterval(4).pendingRequestsMax(1000).operationBytesMax(1024)
      .viewChangeTimeoutMs(1000).stateChunkBytesMax(1 << 20).build();
  private static final int CLIENTS = 16;

  /** What survives a crash, kept the way DurableStorage.persist keeps it. */
  private static final class Disk implements CheckpointStore, EffectApplier.Storage {
    final List<WalRecord> log = new ArrayList<>();
    long checkpointSequence;
    byte[] clientTable = new byte[0];
    byte[] appSnapshot;
    KvStateMachine app;

    @Override
    public void checkpoint(long sequence, byte[] table) {
      checkpointSequence = sequence;
      clientTable = table;
      appSnapshot = app.snapshot();
    }

    @Override
    public void stable(long sequence) {}

    boolean compacted;
    int recordsBeforeCompaction;

    @Override
    public void persist(List<WalRecord> records, List<WalRecord> compaction) {
      log.addAll(records);
      if (compaction != null) {
        compacted = true;
        recordsBeforeCompaction = records.size();
        log.clear();
        log.addAll(compaction);
      }
    }
  }

  /** A message on its way to replica {@code to}. */
  private record Delivery(int to, SignedMessage message) {}

  private final List<Ed25519Keys> replicaKeys = new ArrayList<>();
  private final List<Ed25519Keys> clientKeys = new ArrayList<>();
  private final List<InlineReplica> cores = new ArrayList<>();
  private final List<Disk> disks = new ArrayList<>();
  private final ArrayDeque<Delivery> wire = new ArrayDeque<>();
  /**
   * Replica 3 lags: what is addressed to it arrives in bursts, checkpoints first and the rest
   * reordered, after the others moved on. It learns that a checkpoint is stable before it executes up to it, and then,
   * in one event, executes several batches, takes that checkpoint (stable at once: compaction)
   * and executes more.
   */
  private final ArrayDeque<Delivery> late = new ArrayDeque<>();
  private int restartsChecked;

  @Test
  void replicaRestartedFromItsDiskRightAfterACompactionIsWhereItWas() {
    Random seeded = new Random(66);
    SecureRandom keys = new SecureRandom() {
      @Override
      public void nextBytes(byte[] bytes) {
        seeded.nextBytes(bytes);
      }
    };
    for (int i = 0; i < N; i++) {
      replicaKeys.add(Ed25519Keys.generate(keys));
    }
    for (int c = 0; c < CLIENTS; c++) {
      clientKeys.add(Ed25519Keys.generate(keys));
    }
    for (int i = 0; i < N; i++) {
      Disk disk = new Disk();
      disk.app = new KvStateMachine();
      disks.add(disk);
      cores.add(replica(i, disk.app, disk));
    }
    int submitted = 0;
    for (long timestamp = 1; timestamp <= 10; timestamp++) {
      for (int c = 0; c < CLIENTS; c++) {
        SignedRequest r = request(c, timestamp);
        // The wall clock moves 100 ms per request, faster than agreed times climb by themselves
        // (1 ms per batch): a batch replayed without its proposed time would get another time.
        wallMs += 100;
        cores.get(0).run(0, core -> {
          core.wallClock(0, wallMs);
          core.onRequest(0, new VerifiedRequest(r, parse(r)));
        });
        checkRestart(0);
        drain();
        if (++submitted % 6 == 0) {
          // Within its window (8): it can still follow, late and out of order.
          List<Delivery> held = new ArrayList<>(late);
          late.clear();
          held.stream().filter(d -> parse(d.message()).hasCheckpoint()).forEach(this::deliver);
          List<Delivery> rest = new ArrayList<>(held.stream().filter(d -> !parse(d.message()).hasCheckpoint()).toList());
          java.util.Collections.shuffle(rest, seeded); // as a network that reorders delivers them
          rest.forEach(this::deliver);
          drain();
        }
      }
    }
    assertTrue(restartsChecked > 0, "checkpoints became stable");
  }

  /** The replicas' wall clock (their event clock stays at 0). */
  private long wallMs = 1_000;

  private void drain() {
    while (!wire.isEmpty()) {
      deliver(wire.poll());
    }
  }

  private void deliver(Delivery d) {
    ReplicaMessage m = parse(d.message());
    List<VerifiedRequest> carried = new ArrayList<>();
    if (m.hasPrePrepare()) {
      m.getPrePrepare().getBatch().getRequestsList().forEach(r -> carried.add(new VerifiedRequest(r, parse(r))));
    }
    VerifiedMessage verified = new VerifiedMessage(d.message().getSender(), m, d.message(), carried);
    cores.get(d.to()).run(0, core -> {
      core.wallClock(0, wallMs);
      core.onMessage(0, verified);
    });
    checkRestart(d.to());
  }

  /** After a run that compacted the log, restarts a copy of the replica from its disk and compares. */
  private void checkRestart(int id) {
    Disk disk = disks.get(id);
    if (!disk.compacted) {
      return;
    }
    disk.compacted = false;
    restartsChecked++;
    ReplicaCore core = cores.get(id).core();
    KvStateMachine app = new KvStateMachine();
    if (disk.appSnapshot != null) {
      app.restore(disk.appSnapshot);
    }
    Disk copy = new Disk();
    copy.app = app;
    InlineReplica restarted = replica(id, app, copy);
    if (disk.checkpointSequence > 0) {
      restarted.execution().recoverAt(disk.checkpointSequence, disk.clientTable);
    }
    restarted.run(0, c -> c.recover(0, disk.checkpointSequence, restarted.execution().clientTable(),
        List.copyOf(disk.log)));
    String when = "replica " + id + ", restarted right after checkpoint " + core.lowWatermark()
        + " became stable in an event that executed up to " + core.lastExecuted() + " and wrote "
        + disk.recordsBeforeCompaction + " records besides the compaction";
    assertEquals(core.lastExecuted(), restarted.core().lastExecuted(), "last executed, " + when);
    assertEquals(prePrepared(core), prePrepared(restarted.core()), "sequence numbers with a pre-prepare, " + when);
    assertEquals(cores.get(id).execution().lastTimeMs(), restarted.execution().lastTimeMs(),
        "the agreed time of the last batch, replayed with the time it was proposed with, " + when);
  }

  /** A durable replica whose log goes to {@code disk}; what it sends goes on the wire (to 3: late). */
  private InlineReplica replica(int id, KvStateMachine app, Disk disk) {
    ReplicaCore core = new ReplicaCore(id, N, 1, SETTINGS, replicaKeys.get(id), c -> c >= 0 && c < clientKeys.size());
    core.enableDurability();
    core.checkEverythingAfterEachEvent();
    EffectApplier.Transport transport = new EffectApplier.Transport() {
      @Override
      public void send(Effects.Outgoing out) {
        for (int to = 0; to < N; to++) {
          if (to != id && (out.broadcast() || out.to() == to)) {
            (to == 3 ? late : wire).add(new Delivery(to, out.message()));
          }
        }
      }

      @Override
      public void sendLater(Effects.Outgoing out, long delayMs) {
        send(out);
      }
    };
    return new InlineReplica(core, new Execution(app, disk), disk, Behaviour.HONEST,
        Behaviour.Signing.of(id, replicaKeys.get(id)), transport, (client, reply) -> { });
  }

  @SuppressWarnings("unchecked")
  private static TreeSet<Long> prePrepared(ReplicaCore core) {
    try {
      Field f = ReplicaCore.class.getDeclaredField("state");
      f.setAccessible(true);
      TreeSet<Long> out = new TreeSet<>();
      for (Map.Entry<Long, Slot> s : ((ReplicaState) f.get(core)).slots.entrySet()) {
        if (s.getValue().prePrepare != null) {
          out.add(s.getKey());
        }
      }
      return out;
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private SignedRequest request(int client, long timestamp) {
    byte[] op = KvOperations.put(("k" + client).getBytes(), ("v" + timestamp).getBytes());
    byte[] bytes = Request.newBuilder().setClientId(client).setTimestamp(timestamp).setOperation(ByteString.copyFrom(op))
        .build().toByteArray();
    return SignedRequest.newBuilder().setRequest(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(clientKeys.get(client).sign(bytes))).build();
  }

  private static Request parse(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest());
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static ReplicaMessage parse(SignedMessage m) {
    try {
      return ReplicaMessage.parseFrom(m.getPayload());
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}
