package io.pbft.cli;

import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.Request;
import io.pbft.replica.core.Effects;
import io.pbft.replica.node.Behaviour;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A traitor that tells no lies until a file appears ({@code pbft replica --traitor-armed-by}): so
 * that {@code pbft bench --fault slow-primary} and its kind measure the fault-free group and the
 * traitor in one run, the bench creating the file when the fault is due. Looks for the file at most
 * once every {@value #CHECK_NANOS} ns, and never again once it has seen it.
 */
final class ArmedBehaviour implements Behaviour {
  private static final long CHECK_NANOS = 20_000_000L;

  private final Behaviour traitor;
  private final Path trigger;
  private volatile boolean armed;
  private volatile long checkedAt = System.nanoTime() - CHECK_NANOS;

  ArmedBehaviour(Behaviour traitor, Path trigger) {
    this.traitor = traitor;
    this.trigger = trigger;
  }

  private Behaviour current() {
    if (!armed) {
      long now = System.nanoTime();
      if (now - checkedAt >= CHECK_NANOS) {
        checkedAt = now;
        armed = Files.exists(trigger);
      }
    }
    return armed ? traitor : HONEST;
  }

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    return current().outgoing(wanted, signing);
  }

  @Override
  public long delayMs(Effects.Outgoing message) {
    return current().delayMs(message);
  }

  @Override
  public List<Effects.ClientReply> replies(List<Effects.ClientReply> wanted, Signing signing) {
    return current().replies(wanted, signing);
  }

  @Override
  public boolean admitRequest(Request request) {
    return current().admitRequest(request);
  }

  @Override
  public boolean admitMessage(int sender, ReplicaMessage message) {
    return current().admitMessage(sender, message);
  }

  @Override
  public String name() {
    return traitor.name() + " (once " + trigger + " exists)";
  }
}
