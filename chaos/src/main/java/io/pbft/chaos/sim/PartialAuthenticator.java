package io.pbft.chaos.sim;

import io.pbft.config.Authentication;
import io.pbft.proto.Request;
import io.pbft.proto.SignedRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code partial-authenticator}: requests that authenticate at some replicas only, to split the
 * group over whether a request is genuine. With {@code authentication: macs}, an authenticator
 * whose entries check at a drawn set of replicas (the primary alone, f backups, the primary and f
 * backups, all but the primary, 2f replicas); with signed requests, the good signature to that
 * set and a spoiled one to the rest. A request the primary cannot authenticate is never proposed
 * by a correct one; one that fewer than f + 1 replicas can vouch for must not stall the others'.
 */
final class PartialAuthenticator extends ByzantineClient {
  static final String NAME = "partial-authenticator";

  private final int roundsMax;
  private long timestamp;
  /** Per timestamp: replicas that accepted it, and replicas that refused it. */
  private final Map<Long, int[]> verdicts = new HashMap<>();

  PartialAuthenticator(Context c) {
    super(c);
    this.roundsMax = Math.max(20, 2 * config.opsPerClient());
  }

  @Override
  String behaviour() {
    return NAME;
  }

  @Override
  protected void begin() {
    round();
  }

  /** Where the request will check: one of the splits that matter for the vouching rule. */
  private Set<Integer> validAt() {
    int n = config.replicas();
    int f = config.f();
    int primary = believedPrimary();
    List<Integer> backups = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      if (r != primary) {
        backups.add(r);
      }
    }
    Collections.shuffle(backups, random);
    Set<Integer> valid = new TreeSet<>();
    switch (random.nextInt(5)) {
      case 0 -> {
        valid.add(primary);
        count("valid at the primary only");
      }
      case 1 -> {
        valid.addAll(backups.subList(0, f));
        count("valid at f backups only");
      }
      case 2 -> {
        valid.add(primary);
        valid.addAll(backups.subList(0, f));
        count("valid at the primary and f backups");
      }
      case 3 -> {
        valid.addAll(backups);
        count("valid at all but the primary");
      }
      default -> {
        valid.addAll(backups.subList(0, 2 * f - 1));
        valid.add(primary);
        count("valid at 2f replicas");
      }
    }
    return valid;
  }

  private void round() {
    if (timestamp >= roundsMax) {
      return;
    }
    timestamp++;
    Set<Integer> valid = validAt();
    SignedRequest r = authenticate(request(timestamp, issue(timestamp)), valid);
    SignedRequest spoiled = config.authentication() == Authentication.SIGNATURES ? badSignature(r) : r;
    for (int to = 0; to < config.replicaSlots(); to++) {
      send(to, valid.contains(to) ? r : spoiled);
    }
    count("requests");
    if (random.nextInt(3) == 0) {
      later(50 + random.nextInt(300), () -> {
        count("retransmissions");
        for (int to = 0; to < config.replicaSlots(); to++) {
          send(to, valid.contains(to) ? r : spoiled);
        }
      });
    }
    later(20 + random.nextInt(130), this::round);
  }

  @Override
  void delivered(int to, SignedRequest r) {
    verdicts.computeIfAbsent(timestampOf(r), t -> new int[2])[0]++;
  }

  @Override
  void refused(int to, SignedRequest r) {
    verdicts.computeIfAbsent(timestampOf(r), t -> new int[2])[1]++;
  }

  private static long timestampOf(SignedRequest r) {
    Request request = parse(r);
    return request.getTimestamp();
  }

  @Override
  protected void finish(Map<String, Long> out) {
    // Requests some replicas accepted and others refused: the split reached the group.
    out.put("split requests delivered", verdicts.values().stream().filter(v -> v[0] > 0 && v[1] > 0).count());
  }
}
