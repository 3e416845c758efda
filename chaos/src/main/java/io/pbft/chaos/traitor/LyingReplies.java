package io.pbft.chaos.traitor;

import com.google.protobuf.ByteString;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.core.Effects;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A replica that lies to clients: every reply carries a wrong result (random bytes, nothing, or a
 * plausible one borrowed from another reply), and some a wrong timestamp as well. Its replies are
 * authenticated (it holds its real session keys), so only the f + 1 matching results a client
 * waits for protect it.
 */
public final class LyingReplies implements Behaviour {
  private final Random random;

  public LyingReplies(Random random) {
    this.random = random;
  }

  @Override
  public List<Effects.ClientReply> replies(List<Effects.ClientReply> wanted, Signing signing) {
    List<Effects.ClientReply> out = new ArrayList<>();
    for (Effects.ClientReply r : wanted) {
      ByteString lie = switch (random.nextInt(3)) {
        case 0 -> Messages.randomBytes(random, 1 + random.nextInt(24));
        case 1 -> ByteString.EMPTY;
        default -> {
          ByteString other = wanted.get(random.nextInt(wanted.size())).reply().getResult();
          yield other.equals(r.reply().getResult()) ? other.concat(ByteString.copyFromUtf8("!")) : other;
        }
      };
      var reply = r.reply().toBuilder().setResult(lie);
      if (random.nextInt(5) == 0) {
        reply.setTimestamp(r.reply().getTimestamp() + 1);
      }
      out.add(new Effects.ClientReply(r.clientId(), reply.build()));
    }
    return out;
  }

  @Override
  public String name() {
    return "lying-replies";
  }
}
