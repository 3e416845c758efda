package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.config.Membership;
import io.pbft.config.Reconfigurations;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import io.pbft.replica.execution.Epochs;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * {@code administrator}: not a faulty client, but the group's administrator changing the group
 * while the run's faults go on (docs/RECONFIGURATION.md). It rotates one replica's key (epoch 0 to
 * 1) with a command signed by the administration key, sent as a correct client sends: to every
 * replica, again every request timeout until f + 1 replicas answer the same verdict. While that
 * change is pending it sends a second command built for epoch 0, which must be refused (as
 * pending, or as built for a membership that is gone if it is ordered after the handover). Once
 * every correct replica that is up runs epoch 1, it moves a replica drawn at random to a new
 * machine at another address, with a new key (epoch 1 to 2), with a command built from epoch 1: a
 * group that changed once changes again, and the moved replica starts over without state on its
 * new machine and joins by state transfer ({@code SimReplica.moveToNewMachine}). Then it adds the
 * run's spare replica as a new member (epoch 2 to 3: n + 1 members, the same f, so larger
 * quorums), which starts without state once the group enters that epoch; and last it removes one
 * of the original members drawn at random (epoch 3 to 4), which steps down at the handover. Its counts say what
 * the group answered ({@code accepted}, {@code refused while pending}, {@code refused as stale},
 * {@code refused} otherwise), and at the end how many correct replicas run the last epoch it
 * changed the group to. The run waits for its changes to take effect (within the liveness
 * bound) before it stops it.
 *
 * <p>Its requests are ordered like any other and never reach the application, so the checkers of
 * the workload do not see them; the state digest covers the epoch and the pending change, so
 * replicas that disagree about them fail the comparison of their checkpoints.
 */
final class Administrator extends ByzantineClient {
  static final String NAME = "administrator";
  /** Epochs it changes the group to, one after the other. */
  static final int CHANGES = 4;

  private Membership current;
  private final Ed25519Keys administrator;
  private long timestamp;
  private SignedRequest outstanding;
  private final Map<Integer, ByteString> answers = new HashMap<>();
  /** The membership the command outstanding would make, when it is a change meant to succeed. */
  private Membership proposed;
  /** The last epoch the group accepted a change to (0: none yet). */
  private long acceptedEpoch;
  private boolean done;
  /** When the group accepted the change outstanding (f + 1 matching verdicts), virtual ms. */
  private long acceptedAtMs;

  Administrator(Context c) {
    super(c);
    if (c.membership() == null || c.administrator() == null) {
      throw new IllegalArgumentException("the administrator needs the group's epoch 0 and its administration key");
    }
    this.current = c.membership();
    this.administrator = c.administrator();
  }

  @Override
  String behaviour() {
    return NAME;
  }

  @Override
  protected void begin() {
    later(20 + random.nextInt(300), this::changeNext);
  }

  @Override
  boolean busy() {
    return !done;
  }

  /**
   * The next change, with the simulation's key for the next epoch: from epoch 0 a key rotation of
   * a replica drawn at random, then a move of one to a new machine at another address, then the
   * spare added as a new member, then one of the original members removed.
   */
  private void changeNext() {
    io.pbft.config.Member member = current.members().get(random.nextInt(current.n()));
    int replica = member.id();
    byte[] key = world.replacementKey(current.epoch() + 1);
    if (current.epoch() == 0) {
      proposed = current.nextRotatingKey(replica, key, null);
      submit(signed(current, proposed, "rotate replica " + replica + "'s key"));
    } else if (current.epoch() == 1) {
      int port = member.port() < 60_000 ? member.port() + 1_000 : member.port() - 1_000;
      proposed = current.nextReplacing(replica, member.host(), port, key, null);
      submit(signed(current, proposed, "move replica " + replica + " to " + member.host() + ":" + port));
    } else if (current.epoch() == 2) {
      int spare = config.replicas();
      proposed = current.nextAdding(new io.pbft.config.Member(spare, member.host(), 30_000 + spare, key, null));
      submit(signed(current, proposed, "add replica " + spare));
    } else {
      List<Integer> original = current.ids().stream().filter(id -> id < config.replicas()).toList();
      int leaving = original.get(random.nextInt(original.size()));
      proposed = current.nextRemoving(leaving);
      submit(signed(current, proposed, "remove replica " + leaving));
    }
  }

  /** A second command for the same epoch, sent while the first is pending: it must be refused. */
  private void conflicting() {
    int replica = current.members().get(random.nextInt(current.n())).id();
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    random.nextBytes(secret);
    Membership other = current.nextRotatingKey(replica, Ed25519Keys.fromSecretKey(secret).publicKey(), null);
    proposed = null;
    submit(signed(current, other, "a second change while the first is pending"));
  }

  private Reconfiguration signed(Membership from, Membership to, String reason) {
    return ReconfigurationSigning.signed(Reconfigurations.command(from, to, reason), administrator);
  }

  private void submit(Reconfiguration command) {
    timestamp++;
    answers.clear();
    ByteString request = Request.newBuilder().setClientId(id).setTimestamp(timestamp).setReconfiguration(command)
        .build().toByteString();
    outstanding = authenticate(request);
    count("commands submitted");
    resend(timestamp);
  }

  private void resend(long t) {
    if (outstanding == null || t != timestamp) {
      return;
    }
    sendToAll(outstanding);
    later(config.requestTimeoutMs(), () -> resend(t));
  }

  @Override
  void onReply(int from, Reply reply) {
    super.onReply(from, reply);
    if (outstanding == null || reply.getClientId() != id || reply.getTimestamp() != timestamp
        || reply.getReplicaId() != from || reply.getReadOnly() || reply.getTentative()) {
      return;
    }
    answers.put(from, reply.getResult());
    long same = answers.values().stream().filter(reply.getResult()::equals).count();
    if (same < config.f() + 1) {
      return;
    }
    outstanding = null;
    String verdict = reply.getResult().toStringUtf8();
    if (verdict.startsWith(Epochs.ACCEPTED) && proposed != null) {
      count("accepted");
      if (proposed.n() > current.n()) {
        count("members added");
      } else if (proposed.n() < current.n()) {
        count("members removed");
      }
      acceptedEpoch = proposed.epoch();
      acceptedAtMs = scheduler.nowMs();
      Membership next = proposed;
      proposed = null;
      later(random.nextInt(50), this::conflicting);
      awaitEpoch(next);
    } else if (verdict.startsWith(Epochs.REFUSED) && verdict.contains("is still pending")) {
      count("refused while pending");
    } else if (verdict.startsWith(Epochs.REFUSED) && (verdict.contains("already took effect")
        || verdict.contains("built for another membership"))) {
      count("refused as stale");
    } else {
      count("refused");
    }
  }

  /** Once every correct replica that is up runs {@code next}'s epoch, the next change (or done). */
  private void awaitEpoch(Membership next) {
    later(100, () -> {
      SortedMap<Long, Long> byEpoch = world.correctReplicasByEpoch();
      if (outstanding != null || byEpoch.size() != 1 || byEpoch.firstKey() != next.epoch()) {
        awaitEpoch(next);
        return;
      }
      count("epochs reached");
      // From the verdict to every correct replica that is up running the new epoch (sampled every
      // 100 ms), in virtual time.
      add("ms to take effect, epoch " + next.epoch(), scheduler.nowMs() - acceptedAtMs);
      current = next;
      if (next.epoch() < CHANGES) {
        changeNext();
      } else {
        done = true;
      }
    });
  }

  @Override
  protected void finish(Map<String, Long> out) {
    if (acceptedEpoch == 0) {
      return;
    }
    out.put("last epoch accepted", acceptedEpoch);
    out.put("correct replicas in it", world.correctReplicasByEpoch().getOrDefault(acceptedEpoch, 0L));
  }
}
