package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import io.pbft.config.Member;
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
import java.util.Map;

/**
 * {@code administrator}: not a faulty client, but the group's administrator submitting
 * reconfigurations while the run's faults go on (docs/RECONFIGURATION.md). It sends a command
 * signed by the administration key of epoch 0 that adds a replica, as a correct client does: to
 * every replica, again every request timeout until f + 1 replicas answer the same verdict. Then,
 * while that change is pending, a second command for the same epoch, which must be refused. Its
 * counts say what the group answered ({@code accepted}, {@code refused while pending}, {@code
 * refused} otherwise), and at the end how many correct replicas hold the accepted change pending
 * at the sequence number its verdict named.
 *
 * <p>Its requests are ordered like any other and never reach the application, so the checkers of
 * the workload do not see them; the state digest covers the pending change, so replicas that
 * disagree about it fail the comparison of their checkpoints.
 */
final class Administrator extends ByzantineClient {
  static final String NAME = "administrator";

  private final Membership epoch0;
  private final Ed25519Keys administrator;
  private long timestamp;
  private SignedRequest outstanding;
  private final Map<Integer, ByteString> answers = new HashMap<>();
  /** The verdict on the first command once f + 1 replicas agreed on it. */
  private String accepted;

  Administrator(Context c) {
    super(c);
    if (c.membership() == null || c.administrator() == null) {
      throw new IllegalArgumentException("the administrator needs the group's epoch 0 and its administration key");
    }
    this.epoch0 = c.membership();
    this.administrator = c.administrator();
  }

  @Override
  String behaviour() {
    return NAME;
  }

  @Override
  protected void begin() {
    later(20 + random.nextInt(300), () -> submit(adding(epoch0.n() + 7, "first")));
  }

  /** A command adding replica {@code id} (its key drawn from this client's generator), signed. */
  private Reconfiguration adding(int id, String reason) {
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    random.nextBytes(secret);
    Member joining = new Member(id, "sim-replica-" + id, 7000, Ed25519Keys.fromSecretKey(secret).publicKey());
    Reconfiguration unsigned = Reconfigurations.command(epoch0, epoch0.nextAdding(joining), reason);
    return ReconfigurationSigning.signed(unsigned, administrator);
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
    if (verdict.startsWith(Epochs.ACCEPTED)) {
      count("accepted");
      accepted = verdict;
      later(random.nextInt(200), () -> submit(adding(epoch0.n() + 8, "second, while the first is pending")));
    } else if (verdict.startsWith(Epochs.REFUSED) && verdict.contains("is still pending")) {
      count("refused while pending");
    } else {
      count("refused");
    }
  }

  @Override
  protected void finish(Map<String, Long> out) {
    if (accepted == null) {
      return;
    }
    long at = Long.parseLong(accepted.replaceAll(".*ordered at (\\d+),.*", "$1"));
    out.put("correct replicas with it pending", world.replicasWithPending(at));
  }
}
