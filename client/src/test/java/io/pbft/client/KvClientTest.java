package io.pbft.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.KvOperation;
import io.pbft.proto.KvResult;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class KvClientTest {
  private FakeCluster cluster;
  private KvClient kv;

  /** A minimal key-value store with the semantics the wire format describes. */
  private static final class Store implements FakeCluster.App {
    private final Map<ByteString, ByteString> data = new HashMap<>();

    @Override
    public synchronized byte[] execute(int clientId, byte[] operation) {
      KvOperation op;
      try {
        op = KvOperation.parseFrom(operation);
      } catch (InvalidProtocolBufferException e) {
        return bad("not a KvOperation");
      }
      if (op.getOpCase() == KvOperation.OpCase.PUT && op.getPut().getKey().toStringUtf8().equals("reserved")) {
        return bad("key 'reserved' is reserved");
      }
      KvResult.Builder r = KvResult.newBuilder();
      switch (op.getOpCase()) {
        case PUT -> data.put(op.getPut().getKey(), op.getPut().getValue());
        case GET -> {
          ByteString v = data.get(op.getGet().getKey());
          if (v == null) {
            r.setStatus(KvResult.Status.NOT_FOUND);
          } else {
            r.setFound(true).setValue(v);
          }
        }
        case DELETE -> {
          if (data.remove(op.getDelete().getKey()) == null) {
            r.setStatus(KvResult.Status.NOT_FOUND);
          }
        }
        case CAS -> {
          ByteString current = data.get(op.getCas().getKey());
          boolean matches = op.getCas().getExpectedAbsent()
              ? current == null
              : current != null && current.equals(op.getCas().getExpected());
          if (matches) {
            data.put(op.getCas().getKey(), op.getCas().getNewValue());
          } else {
            r.setStatus(KvResult.Status.CAS_FAILED).setFound(current != null);
            if (current != null) {
              r.setValue(current);
            }
          }
        }
        default -> {
          return bad("empty operation");
        }
      }
      return r.build().toByteArray();
    }

    private static byte[] bad(String reason) {
      return KvResult.newBuilder().setStatus(KvResult.Status.BAD_OPERATION)
          .setValue(ByteString.copyFromUtf8(reason)).build().toByteArray();
    }
  }

  @BeforeEach
  void start() throws Exception {
    cluster = FakeCluster.start(4, 1, new Store());
    kv = KvClient.owning(cluster.client(0).requestTimeout(Duration.ofMillis(200))
        .operationTimeout(Duration.ofSeconds(20)).build());
  }

  @AfterEach
  void stop() {
    try {
      if (kv != null) {
        kv.close();
      }
    } finally {
      cluster.close();
    }
  }

  @Test
  void putThenGet() {
    assertEquals(Optional.empty(), kv.get("k"));
    kv.put("k", "v1");
    assertEquals(Optional.of("v1"), kv.get("k"));
    kv.put("k", "v2");
    assertEquals(Optional.of("v2"), kv.get("k"));
  }

  @Test
  void emptyValueIsAValueNotAbsence() {
    kv.put(new byte[] {1}, new byte[0]);
    Optional<byte[]> v = kv.get(new byte[] {1});
    assertTrue(v.isPresent());
    assertArrayEquals(new byte[0], v.get());
  }

  @Test
  void deleteSaysWhetherTheKeyExisted() {
    assertFalse(kv.delete("k"));
    kv.put("k", "v");
    assertTrue(kv.delete("k"));
    assertFalse(kv.delete("k"));
    assertEquals(Optional.empty(), kv.get("k"));
  }

  @Test
  void compareAndSet() {
    assertTrue(kv.compareAndSet("k", null, "a"), "absent matches null");
    assertFalse(kv.compareAndSet("k", null, "b"), "present does not match null");
    assertFalse(kv.compareAndSet("k", "wrong", "b"));
    assertTrue(kv.compareAndSet("k", "a", "b"));
    assertEquals(Optional.of("b"), kv.get("k"));
  }

  @Test
  void asyncVariantsComplete() throws Exception {
    byte[] key = "async".getBytes();
    kv.putAsync(key, "1".getBytes()).get(30, TimeUnit.SECONDS);
    assertArrayEquals("1".getBytes(), kv.getAsync(key).get(30, TimeUnit.SECONDS).orElseThrow());
    assertTrue(kv.compareAndSetAsync(key, "1".getBytes(), "2".getBytes()).get(30, TimeUnit.SECONDS));
    assertTrue(kv.deleteAsync(key).get(30, TimeUnit.SECONDS));
  }

  @Test
  void badOperationFailsWithTheReason() {
    PbftException e = assertThrows(PbftException.class, () -> kv.put("reserved", "x"));
    assertTrue(e.getMessage().contains("refused the put as a bad operation: key 'reserved' is reserved"),
        e.getMessage());
  }

  @Test
  void aResultThatIsNotAKvResultFailsClearly() throws Exception {
    try (FakeCluster notKv = FakeCluster.start(4, 1, (client, op) -> new byte[] {(byte) 0xff, (byte) 0xff});
        KvClient other = KvClient.owning(notKv.client(0).requestTimeout(Duration.ofMillis(200)).build())) {
      PbftException e = assertThrows(PbftException.class, () -> other.get("k"));
      assertTrue(e.getMessage().contains("not a KvResult"), e.getMessage());
    }
  }
}
