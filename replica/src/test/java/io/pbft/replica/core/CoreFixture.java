package io.pbft.replica.core;

import com.google.protobuf.ByteString;
import io.pbft.config.ClientInfo;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.TransportSettings;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.Batch;
import io.pbft.proto.Commit;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.execution.CheckpointStore;
import io.pbft.replica.node.EffectApplier;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A cluster configuration with real Ed25519 keys for n replicas and a few clients, plus
 * helpers to build signed messages as any replica or client would.
 */
final class CoreFixture {
  final int n;
  final int f;
  final ProtocolSettings settings;
  final List<Ed25519Keys> replicaKeys = new ArrayList<>();
  final List<Ed25519Keys> clientKeys = new ArrayList<>();
  final ClusterConfig config;

  CoreFixture(int n, ProtocolSettings settings) {
    this(n, 4, settings);
  }

  CoreFixture(int n, int clients, ProtocolSettings settings) {
    this.n = n;
    this.f = (n - 1) / 3;
    // The fixture's pre-prepares propose time PROPOSED_MS while tests move their clocks anywhere:
    // with the default skew the clock rule is widened to an hour. Tests of the rule set a skew of
    // their own (any but the default), which the fixture keeps.
    this.settings = settings.clockSkewMs() == ProtocolSettings.CLOCK_SKEW_MS.defaultValue()
        ? settings.toBuilder().clockSkewMs(3_600_000).build() : settings;
    SecureRandom random = deterministicRandom(42);
    List<ReplicaInfo> replicas = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Ed25519Keys k = Ed25519Keys.generate(random);
      replicaKeys.add(k);
      replicas.add(new ReplicaInfo(i, "127.0.0.1", 7000 + i, k.publicKey(), null));
    }
    List<ClientInfo> clientInfos = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Ed25519Keys k = Ed25519Keys.generate(random);
      clientKeys.add(k);
      clientInfos.add(new ClientInfo(c, k.publicKey(), null));
    }
    // The fixture's requests are signed by their clients.
    config = new ClusterConfig(replicas, clientInfos, f, settings, TransportSettings.defaults(), null,
        Authentication.SIGNATURES);
  }

  /** Key generation from a seeded source, so failures reproduce. */
  static SecureRandom deterministicRandom(long seed) {
    Random r = new Random(seed);
    return new SecureRandom() {
      @Override
      public void nextBytes(byte[] bytes) {
        r.nextBytes(bytes);
      }
    };
  }

  int coreFixturePrimary(long view) {
    return (int) (view % n);
  }

  TestReplica core(int id, RecordingApp app) {
    return core(id, app, CheckpointStore.NONE);
  }

  /** A replica whose checkpoints go to {@code store} (and, if it is not NONE, durable). */
  TestReplica core(int id, RecordingApp app, CheckpointStore store) {
    return core(id, app, store, Rules.PAPER);
  }

  TestReplica core(int id, RecordingApp app, CheckpointStore store, Rules rules) {
    return core(id, app, store, EffectApplier.Storage.NONE, rules);
  }

  /** A durable replica whose log records go to {@code disk} as the runtime would write them. */
  TestReplica core(int id, RecordingApp app, CheckpointStore store, EffectApplier.Storage disk, Rules rules) {
    ReplicaCore core = new ReplicaCore(id, n, f, settings, replicaKeys.get(id), c -> c >= 0 && c < clientKeys.size(),
        rules);
    core.checkEverythingAfterEachEvent();
    TestReplica replica = new TestReplica(core, app, store, disk);
    if (store != CheckpointStore.NONE || disk != EffectApplier.Storage.NONE) {
      replica.enableDurability();
    }
    return replica;
  }

  SignedRequest request(int client, long timestamp, String op) {
    return requestSignedBy(client, timestamp, op, clientKeys.get(client));
  }

  SignedRequest requestSignedBy(int client, long timestamp, String op, Ed25519Keys signer) {
    return signedRequest(client, timestamp, op, signer, false);
  }

  /** A read-only request (Request.read_only), signed by its client. */
  SignedRequest readOnlyRequest(int client, long timestamp, String op) {
    return signedRequest(client, timestamp, op, clientKeys.get(client), true);
  }

  private SignedRequest signedRequest(int client, long timestamp, String op, Ed25519Keys signer, boolean readOnly) {
    byte[] bytes = Request.newBuilder().setClientId(client).setTimestamp(timestamp)
        .setOperation(ByteString.copyFrom(op, StandardCharsets.UTF_8)).setReadOnly(readOnly).build().toByteArray();
    return SignedRequest.newBuilder().setRequest(ByteString.copyFrom(bytes))
        .setSignature(ByteString.copyFrom(signer.sign(bytes))).build();
  }

  static Request parse(SignedRequest r) {
    try {
      return Request.parseFrom(r.getRequest());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  SignedMessage signed(int sender, ReplicaMessage m) {
    return signedBy(sender, m, replicaKeys.get(sender));
  }

  SignedMessage signedBy(int sender, ReplicaMessage m, Ed25519Keys keys) {
    byte[] payload = m.toByteArray();
    return SignedMessage.newBuilder().setSender(sender).setPayload(ByteString.copyFrom(payload))
        .setSignature(ByteString.copyFrom(keys.sign(payload))).build();
  }

  /**
   * The time the fixture's hand-made pre-prepares propose: 1 ms, as a primary whose clock starts
   * at 0 proposes first. Tests' clocks stay within the default clock skew of it unless they mean
   * otherwise.
   */
  static final long PROPOSED_MS = 1;

  static ByteString digest(List<SignedRequest> requests) {
    return ByteString.copyFrom(Digests.batchDigest(requests, PROPOSED_MS));
  }

  static ReplicaMessage prePrepare(long view, long seq, List<SignedRequest> requests) {
    return prePrepare(view, seq, digest(requests), requests);
  }

  static ReplicaMessage prePrepare(long view, long seq, ByteString digest, List<SignedRequest> requests) {
    return ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder().setView(view).setSequence(seq)
        .setDigest(digest).setBatch(Batch.newBuilder().addAllRequests(requests)).setTimeMs(PROPOSED_MS)).build();
  }

  static ReplicaMessage prepare(long view, long seq, ByteString digest, int replica) {
    return ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(view).setSequence(seq)
        .setDigest(digest).setReplicaId(replica)).build();
  }

  static ReplicaMessage commit(long view, long seq, ByteString digest, int replica) {
    return ReplicaMessage.newBuilder().setCommit(Commit.newBuilder().setView(view).setSequence(seq)
        .setDigest(digest).setReplicaId(replica)).build();
  }

  static ReplicaMessage complaint(long view, int replica) {
    return ReplicaMessage.newBuilder().setComplaint(io.pbft.proto.Complaint.newBuilder().setView(view)
        .setReplicaId(replica)).build();
  }

  /**
   * Primary 0's pre-prepare {@code pp} commits at {@code backup} (replica 1 of four) with the
   * votes of replicas 0 and 2: the pre-prepare, replica 2's prepare, then both commits.
   */
  void commitAtBackup(TestReplica backup, ReplicaMessage pp) {
    PrePrepare p = pp.getPrePrepare();
    deliver(backup, 0, pp);
    deliver(backup, 2, prepare(p.getView(), p.getSequence(), p.getDigest(), 2));
    deliver(backup, 0, commit(p.getView(), p.getSequence(), p.getDigest(), 0));
    deliver(backup, 2, commit(p.getView(), p.getSequence(), p.getDigest(), 2));
  }

  /** Delivers a message from {@code sender} to {@code core} as the runtime would after verification. */
  void deliver(TestReplica core, int sender, ReplicaMessage m) {
    core.onMessage(sender, m, signed(sender, m));
  }

  static ReplicaMessage payloadOf(SignedMessage s) {
    try {
      return ReplicaMessage.parseFrom(s.getPayload());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}
