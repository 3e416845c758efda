package io.pbft.cli.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.kv.KvOperations;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Bench's workload when it checks that nothing acknowledged is lost ({@code --fault} implies it):
 * puts and gets as {@link KvWorkloads#putGet}, but each client writes keys of its own, and every
 * value starts with the writer and a counter. A client remembers, per key, the last put it saw
 * acknowledged and the puts that failed after it (a timed-out put may still execute). After the
 * run, {@link #verify} reads every key back: a key whose value is neither the acknowledged put nor
 * one of the later uncertain ones lost an acknowledged write.
 */
public final class VerifiedPuts {
  /** What {@link #verify} found. */
  public record Verdict(int keysChecked, long acknowledged, int lost, List<String> examples) {}

  private final KvTarget target;
  private final int keysPerClient;
  private final int payloadBytes;
  private final double readRatio;
  private final PerClient[] clients;

  private static final class PerClient {
    final SplittableRandom random;
    long counter;
    long acknowledged;
    final long[] acked;
    final List<Set<Long>> uncertain = new ArrayList<>();

    PerClient(SplittableRandom random, int keys) {
      this.random = random;
      this.acked = new long[keys];
      java.util.Arrays.fill(acked, -1);
      for (int k = 0; k < keys; k++) {
        uncertain.add(new HashSet<>());
      }
    }
  }

  public VerifiedPuts(KvTarget target, int keysPerClient, int payloadBytes, double readRatio) {
    this.target = target;
    this.keysPerClient = keysPerClient;
    this.payloadBytes = payloadBytes;
    this.readRatio = readRatio;
    this.clients = new PerClient[target.clients()];
    SplittableRandom seed = new SplittableRandom();
    for (int c = 0; c < clients.length; c++) {
      clients[c] = new PerClient(seed.split(), keysPerClient);
    }
  }

  private static byte[] key(int client, int k) {
    return ("key-" + client + "-" + k).getBytes(StandardCharsets.UTF_8);
  }

  private byte[] value(int client, long counter, SplittableRandom random) {
    byte[] v = new byte[Math.max(12, payloadBytes)];
    random.nextBytes(v);
    ByteBuffer.wrap(v).putInt(client).putLong(counter);
    return v;
  }

  /** The step each client's thread runs (each client's state is its own thread's). */
  public LoadDriver.ClientStep step() {
    return client -> {
      PerClient me = clients[client];
      int k = me.random.nextInt(keysPerClient);
      if (readRatio > 0 && me.random.nextDouble() < readRatio) {
        result(target.read(client, KvOperations.get(key(client, k))));
        return;
      }
      long counter = ++me.counter;
      try {
        result(target.execute(client, KvOperations.put(key(client, k), value(client, counter, me.random))));
      } catch (Exception | Error e) {
        me.uncertain.get(k).add(counter);
        throw e;
      }
      // Requests of one client execute in timestamp order: an older put can no longer land.
      me.acked[k] = counter;
      me.uncertain.get(k).clear();
      me.acknowledged++;
    };
  }

  /**
   * Reads back every key a client wrote (call after the load stopped), each client its own keys on
   * a thread of its own, as the load ran.
   */
  public Verdict verify() throws Exception {
    List<java.util.concurrent.Future<Verdict>> perClient = new ArrayList<>();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(clients.length);
    try {
      for (int c = 0; c < clients.length; c++) {
        int client = c;
        perClient.add(pool.submit(() -> verify(client)));
      }
      int checked = 0;
      int lost = 0;
      long acknowledged = 0;
      List<String> examples = new ArrayList<>();
      for (java.util.concurrent.Future<Verdict> f : perClient) {
        Verdict v;
        try {
          v = f.get();
        } catch (java.util.concurrent.ExecutionException e) {
          throw e.getCause() instanceof Exception x ? x : e;
        }
        checked += v.keysChecked();
        lost += v.lost();
        acknowledged += v.acknowledged();
        for (String x : v.examples()) {
          if (examples.size() < 5) {
            examples.add(x);
          }
        }
      }
      return new Verdict(checked, acknowledged, lost, examples);
    } finally {
      pool.shutdownNow();
    }
  }

  private Verdict verify(int c) throws Exception {
    PerClient me = clients[c];
    int checked = 0;
    int lost = 0;
    List<String> examples = new ArrayList<>();
    for (int k = 0; k < keysPerClient; k++) {
      if (me.acked[k] < 0) {
        continue;
      }
      checked++;
      KvResult r = result(target.execute(c, KvOperations.get(key(c, k))));
      long found = -1;
      if (r.getFound() && r.getValue().size() >= 12) {
        ByteBuffer b = r.getValue().asReadOnlyByteBuffer();
        found = b.getInt() == c ? b.getLong() : -2;
      }
      if (found != me.acked[k] && !me.uncertain.get(k).contains(found)) {
        lost++;
        if (examples.size() < 5) {
          examples.add("client " + c + " key " + k + ": acknowledged put #" + me.acked[k] + ", read "
              + (found == -1 ? "nothing" : found == -2 ? "another writer's value" : "put #" + found));
        }
      }
    }
    return new Verdict(checked, me.acknowledged, lost, examples);
  }

  private static KvResult result(byte[] bytes) {
    try {
      KvResult r = KvResult.parseFrom(bytes);
      if (r.getStatus() == KvResult.Status.BAD_OPERATION || r.getStatus() == KvResult.Status.UNRECOGNIZED) {
        throw new IllegalStateException("the store refused an operation: " + r.getStatus());
      }
      return r;
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("result is not a KvResult (" + bytes.length + " bytes)");
    }
  }
}
