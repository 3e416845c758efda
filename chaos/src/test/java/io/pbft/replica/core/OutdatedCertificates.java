package io.pbft.replica.core;

import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import io.pbft.replica.node.Behaviour;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A traitor for {@link PlantedBugsTest}: its VIEW-CHANGEs report, for each sequence number, the
 * oldest genuine prepared certificate it ever held there, and only certificates from views
 * before the one it leaves (so its first VIEW-CHANGE omits everything: a lie PBFT tolerates).
 * Every certificate is real, so each passes the checks; only choosing the certificate of the
 * highest view when computing a NEW-VIEW keeps an outdated batch from displacing one that
 * committed since. The catalogue's lying-view-change tells this lie in one VIEW-CHANGE in ten,
 * and only with certificates it saw in others' VIEW-CHANGEs.
 */
final class OutdatedCertificates implements Behaviour {
  /** Per sequence number, the oldest certificate held there. */
  private final Map<Long, PreparedCertificate> oldest = new TreeMap<>();
  private final Map<Long, Long> oldestView = new TreeMap<>();

  @Override
  public List<Effects.Outgoing> outgoing(List<Effects.Outgoing> wanted, Signing signing) {
    List<Effects.Outgoing> out = new ArrayList<>(wanted.size());
    for (Effects.Outgoing o : wanted) {
      ReplicaMessage m = parse(o.message());
      if (m == null || o.message().getSender() != signing.replicaId() || !m.hasViewChange()) {
        out.add(o);
        continue;
      }
      ViewChange vc = m.getViewChange();
      vc.getPreparedList().forEach(this::remember);
      ViewChange.Builder lie = vc.toBuilder().clearPrepared();
      oldest.forEach((s, c) -> {
        if (s > vc.getStableSequence() && oldestView.get(s) < vc.getNewView() - 1) {
          lie.addPrepared(c);
        }
      });
      out.add(new Effects.Outgoing(o.to(), signing.sign(ReplicaMessage.newBuilder().setViewChange(lie).build())));
    }
    return out;
  }

  private void remember(PreparedCertificate c) {
    ReplicaMessage pp = parse(c.getPrePrepare());
    long s = pp.getPrePrepare().getSequence();
    long view = pp.getPrePrepare().getView();
    if (!oldestView.containsKey(s) || oldestView.get(s) > view) {
      oldest.put(s, c);
      oldestView.put(s, view);
    }
  }

  private static ReplicaMessage parse(SignedMessage m) {
    try {
      return ViewChangeRules.parse(m);
    } catch (ViewChangeRules.Invalid e) {
      return null;
    }
  }

  @Override
  public String name() {
    return "outdated-certificates";
  }
}
