package io.pbft.replica.core;

import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.ViewChange;
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
final class OutdatedCertificates extends ViewChangeLie {
  /** Per sequence number, the oldest certificate held there. */
  private final Map<Long, PreparedCertificate> oldest = new TreeMap<>();
  private final Map<Long, Long> oldestView = new TreeMap<>();

  @Override
  ViewChange lie(ViewChange vc, Signing signing) {
    vc.getPreparedList().forEach(this::remember);
    ViewChange.Builder lie = vc.toBuilder().clearPrepared();
    oldest.forEach((s, c) -> {
      if (s > vc.getStableSequence() && oldestView.get(s) < vc.getNewView() - 1) {
        lie.addPrepared(c);
      }
    });
    return lie.build();
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


  @Override
  public String name() {
    return "outdated-certificates";
  }
}
