package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.replica.core.Behaviour;
import io.pbft.replica.core.Effects;
import io.pbft.replica.core.ReplicaCore;
import io.pbft.replica.verify.VerifiedMessage;
import io.pbft.replica.verify.VerifiedRequest;
import java.util.function.Consumer;

/**
 * One simulated replica: a {@link ReplicaCore} over a recording key-value store, driven like the
 * runtime's event loop drives it (one verified input at a time, then its effects go out through
 * its {@link Behaviour}, honest or a traitor's), and switched off and on by crash faults. A
 * crashed replica neither receives nor sends nor ticks; its memory stays as it was, so a restart
 * is a resumed pause.
 */
final class SimReplica {
  private final int id;
  private final int n;
  private final ReplicaCore core;
  private final RecordingStateMachine app;
  private final Behaviour behaviour;
  private final Behaviour.Signing signing;
  private final SimNetwork network;
  private final Scheduler scheduler;
  private final Consumer<String> violation;
  private boolean down;
  private boolean downForever;
  /** Crash right after sending this many pre-prepares (0: never). */
  private int crashAfterPrePrepares;
  private int prePreparesSent;
  private long certificatesCarried;

  SimReplica(int id, int n, ReplicaCore core, RecordingStateMachine app, Ed25519Keys keys, Behaviour behaviour,
      SimNetwork network, Scheduler scheduler, Consumer<String> violation) {
    this.id = id;
    this.n = n;
    this.core = core;
    this.app = app;
    this.behaviour = behaviour;
    this.signing = new Behaviour.Signing() {
      @Override
      public int replicaId() {
        return id;
      }

      @Override
      public SignedMessage sign(ReplicaMessage message) {
        byte[] payload = message.toByteArray();
        return SignedMessage.newBuilder().setSender(id).setPayload(ByteString.copyFrom(payload))
            .setSignature(ByteString.copyFrom(keys.sign(payload))).build();
      }
    };
    this.network = network;
    this.scheduler = scheduler;
    this.violation = violation;
  }

  int id() {
    return id;
  }

  ReplicaCore core() {
    return core;
  }

  RecordingStateMachine app() {
    return app;
  }

  /** A traitor: left out of every check, since it may say or hold anything. */
  boolean traitor() {
    return behaviour != Behaviour.HONEST;
  }

  String behaviourName() {
    return behaviour.name();
  }

  boolean down() {
    return down;
  }

  boolean downForever() {
    return downForever;
  }

  /** Prepared certificates this replica put into the VIEW-CHANGEs it sent. */
  long certificatesCarried() {
    return certificatesCarried;
  }

  void crashAfterPrePrepares(int count) {
    crashAfterPrePrepares = count;
  }

  void crash(boolean forever) {
    down = true;
    downForever |= forever;
  }

  void restart() {
    if (!downForever) {
      down = false;
    }
  }

  void onMessage(VerifiedMessage m) {
    if (!down && behaviour.admitMessage(m.sender(), m.message())) {
      input(() -> core.onMessage(m.sender(), m.message(), m.signed()));
    }
  }

  void onRequest(VerifiedRequest r) {
    if (!down && behaviour.admitRequest(r.request())) {
      input(() -> core.onClientRequest(r.signed(), r.request()));
    }
  }

  void tick(long nowMs) {
    if (!down) {
      input(() -> core.tick(nowMs));
    }
  }

  /** Feeds one input to the core, checks its invariants, and sends what it produced. */
  private void input(Runnable event) {
    try {
      event.run();
      core.checkInvariants();
    } catch (RuntimeException e) {
      violation.accept("replica " + id + " failed: " + e);
    }
    dispatch();
  }

  private void dispatch() {
    Effects effects = core.takeEffects();
    boolean crashNow = false;
    for (Effects.Outgoing out : behaviour.outgoing(effects.messages(), signing)) {
      ReplicaMessage parsed;
      try {
        parsed = ReplicaMessage.parseFrom(out.message().getPayload());
      } catch (InvalidProtocolBufferException e) {
        if (!traitor()) {
          violation.accept("replica " + id + " sent a message that does not parse");
        }
        parsed = ReplicaMessage.getDefaultInstance(); // a traitor's garbage still goes out
      }
      if (parsed.hasViewChange()) {
        certificatesCarried += parsed.getViewChange().getPreparedCount();
      }
      if (parsed.hasPrePrepare() && crashAfterPrePrepares > 0 && !network.healed()
          && ++prePreparesSent == crashAfterPrePrepares) {
        crashNow = true;
      }
      long delayMs = behaviour.delayMs(out);
      ReplicaMessage body = parsed;
      if (delayMs > 0) {
        scheduler.after(delayMs, () -> transmit(out, body));
      } else {
        transmit(out, body);
      }
    }
    for (Effects.ClientReply reply : behaviour.replies(effects.replies(), signing)) {
      network.sendReply(id, reply.clientId(), reply.reply());
    }
    if (crashNow) {
      crash(true);
    }
  }

  private void transmit(Effects.Outgoing out, ReplicaMessage parsed) {
    if (down) {
      return; // held back by a slow traitor and crashed meanwhile
    }
    if (out.broadcast()) {
      for (int to = 0; to < n; to++) {
        if (to != id) {
          network.sendReplica(id, to, out.message(), parsed);
        }
      }
    } else {
      network.sendReplica(id, out.to(), out.message(), parsed);
    }
  }
}
