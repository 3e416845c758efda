package io.pbft.examples.lock;

import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * A replicated lock service with leases, as an example of a PBFT application that needs both
 * the agreed time and agreed randomness of {@link ExecutionContext}:
 *
 * <ul>
 *   <li>a lease expires at the batch's agreed time plus its duration, and a lock whose lease
 *       expired is free again: every replica decides "expired" at the same point of the order,
 *       whatever its own clock says;
 *   <li>a granted lease gets a secret lease id drawn from the batch's agreed generator (the holder
 *       presents it to renew or release; no one else can), and a fencing token, one more than any
 *       before, which the holder passes to the storage it protects so that a holder whose lease
 *       ran out is refused there.
 * </ul>
 *
 * <p>Operations and results are UTF-8 text (see {@link LockClient} for the client side):
 *
 * <pre>
 * acquire LOCK OWNER TTL_MS   granted LEASE_ID FENCING EXPIRES_MS | held OWNER FENCING EXPIRES_MS
 * renew LOCK LEASE_ID TTL_MS  renewed EXPIRES_MS | lost
 * release LOCK LEASE_ID       released | lost
 * holder LOCK                 free | held OWNER FENCING EXPIRES_MS   (ordered, at the agreed time)
 * </pre>
 *
 * Anything else gets {@code error ...} and changes nothing. Lock and owner names are 1 to 128
 * characters without white space; a lease lasts 1 ms to one hour.
 */
public final class LockService implements StateMachine {
  /** The longest lease one acquire or renew grants. */
  public static final long TTL_MAX_MS = 3_600_000;
  private static final int NAME_MAX = 128;

  private record Lease(String owner, String leaseId, long fencing, long expiresMs) {}

  private final TreeMap<String, Lease> leases = new TreeMap<>();
  private long lastFencing;
  /** The agreed time of the last batch executed: what {@link #query} judges expiry by. */
  private long lastTimeMs;

  /** The no-argument constructor {@code pbft replica --application} uses. */
  public LockService() {}

  @Override
  public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
    long now = context.timeMillis();
    lastTimeMs = now;
    // Expired leases go first: deterministic, as it depends on the agreed time only.
    leases.values().removeIf(l -> l.expiresMs() <= now);
    List<byte[]> results = new ArrayList<>(operations.size());
    for (int i = 0; i < operations.size(); i++) {
      String op = new String(operations.get(i).payload(), StandardCharsets.UTF_8);
      results.add(apply(op, now, context.random(i)).getBytes(StandardCharsets.UTF_8));
    }
    return results;
  }

  private String apply(String op, long now, Random random) {
    String[] w = op.strip().split("\\s+");
    try {
      switch (w[0]) {
        case "acquire" -> {
          need(w, 4);
          String lock = name(w[1]);
          String owner = name(w[2]);
          long ttl = ttl(w[3]);
          Lease held = leases.get(lock);
          if (held != null) {
            return "held " + held.owner() + " " + held.fencing() + " " + held.expiresMs();
          }
          byte[] id = new byte[16];
          random.nextBytes(id);
          Lease granted = new Lease(owner, HexFormat.of().formatHex(id), ++lastFencing, now + ttl);
          leases.put(lock, granted);
          return "granted " + granted.leaseId() + " " + granted.fencing() + " " + granted.expiresMs();
        }
        case "renew" -> {
          need(w, 4);
          String lock = name(w[1]);
          long ttl = ttl(w[3]);
          Lease held = leases.get(lock);
          if (held == null || !held.leaseId().equals(w[2])) {
            return "lost";
          }
          Lease renewed = new Lease(held.owner(), held.leaseId(), held.fencing(), now + ttl);
          leases.put(lock, renewed);
          return "renewed " + renewed.expiresMs();
        }
        case "release" -> {
          need(w, 3);
          String lock = name(w[1]);
          Lease held = leases.get(lock);
          if (held == null || !held.leaseId().equals(w[2])) {
            return "lost";
          }
          leases.remove(lock);
          return "released";
        }
        case "holder" -> {
          need(w, 2);
          return describe(leases.get(name(w[1])));
        }
        default -> throw new IllegalArgumentException("unknown operation '" + w[0] + "'");
      }
    } catch (IllegalArgumentException e) {
      return "error " + e.getMessage();
    }
  }

  private static String describe(Lease l) {
    return l == null ? "free" : "held " + l.owner() + " " + l.fencing() + " " + l.expiresMs();
  }

  private static void need(String[] w, int words) {
    if (w.length != words) {
      throw new IllegalArgumentException(w[0] + " takes " + (words - 1) + " arguments");
    }
  }

  private static String name(String s) {
    if (s.isEmpty() || s.length() > NAME_MAX) {
      throw new IllegalArgumentException("names are 1 to " + NAME_MAX + " characters");
    }
    return s;
  }

  private static long ttl(String s) {
    long ttl;
    try {
      ttl = Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("TTL '" + s + "' is not a number of milliseconds");
    }
    if (ttl < 1 || ttl > TTL_MAX_MS) {
      throw new IllegalArgumentException("TTL must be 1 to " + TTL_MAX_MS + " ms");
    }
    return ttl;
  }

  /**
   * Read-only: {@code holder LOCK}, judged at the agreed time of the last batch this replica
   * executed (a query is not ordered, so it has no agreed time of its own).
   */
  @Override
  public byte[] query(byte[] operation) {
    String[] w = new String(operation, StandardCharsets.UTF_8).strip().split("\\s+");
    if (w.length != 2 || !w[0].equals("holder")) {
      return "error queries are: holder LOCK".getBytes(StandardCharsets.UTF_8);
    }
    Lease l = leases.get(w[1]);
    return describe(l == null || l.expiresMs() <= lastTimeMs ? null : l).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public byte[] stateDigest() {
    try {
      return MessageDigest.getInstance("SHA-256").digest(snapshot());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public byte[] snapshot() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeLong(lastFencing);
      out.writeLong(lastTimeMs);
      out.writeInt(leases.size());
      for (Map.Entry<String, Lease> e : leases.entrySet()) {
        out.writeUTF(e.getKey());
        out.writeUTF(e.getValue().owner());
        out.writeUTF(e.getValue().leaseId());
        out.writeLong(e.getValue().fencing());
        out.writeLong(e.getValue().expiresMs());
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void restore(byte[] snapshot) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(snapshot));
      long fencing = in.readLong();
      long time = in.readLong();
      int count = in.readInt();
      TreeMap<String, Lease> restored = new TreeMap<>();
      for (int i = 0; i < count; i++) {
        restored.put(in.readUTF(), new Lease(in.readUTF(), in.readUTF(), in.readLong(), in.readLong()));
      }
      if (in.available() > 0) {
        throw new IllegalArgumentException("trailing bytes after the lock table");
      }
      leases.clear();
      leases.putAll(restored);
      lastFencing = fencing;
      lastTimeMs = time;
    } catch (IOException e) {
      throw new IllegalArgumentException("not a lock service snapshot: " + e.getMessage(), e);
    }
  }
}
