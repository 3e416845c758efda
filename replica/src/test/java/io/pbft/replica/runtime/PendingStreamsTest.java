package io.pbft.replica.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Room for a new stream without handshake is made by closing the oldest silent one. */
class PendingStreamsTest {
  static final class Fake extends GuardedStream {
    Fake(String ip, int port) {
      super(new Connection(null, new InetSocketAddress(ip, port)), null);
    }

    @Override
    void abort(Status status) {}
  }

  @Test
  void theOldestSilentStreamMakesRoomOverall() {
    PendingStreams p = new PendingStreams(3, 3, 10_000);
    Fake a = new Fake("10.0.0.1", 1);
    Fake b = new Fake("10.0.0.2", 1);
    Fake c = new Fake("10.0.0.3", 1);
    assertEquals(List.of(), p.admit(a));
    assertEquals(List.of(), p.admit(b));
    assertEquals(List.of(), p.admit(c));
    a.spoke(); // a is mid-handshake: b, the oldest silent one, goes
    Fake d = new Fake("10.0.0.4", 1);
    assertEquals(List.of(b), p.admit(d));
    assertEquals(3, p.size());
    assertTrue(p.contains(a) && p.contains(c) && p.contains(d));
  }

  @Test
  void perAddressRoomIsMadeAmongThatAddressOnly() {
    PendingStreams p = new PendingStreams(10, 2, 10_000);
    Fake other = new Fake("10.0.0.9", 1);
    Fake a1 = new Fake("10.0.0.1", 1);
    Fake a2 = new Fake("10.0.0.1", 2);
    p.admit(other);
    p.admit(a1);
    p.admit(a2);
    Fake a3 = new Fake("10.0.0.1", 3);
    assertEquals(List.of(a1), p.admit(a3));
    assertTrue(p.contains(other));
  }

  @Test
  void whenAllHaveSpokenTheOldestGoes() {
    PendingStreams p = new PendingStreams(2, 2, 10_000);
    Fake a = new Fake("10.0.0.1", 1);
    Fake b = new Fake("10.0.0.1", 2);
    p.admit(a);
    p.admit(b);
    a.spoke();
    b.spoke();
    assertEquals(List.of(a), p.admit(new Fake("10.0.0.1", 3)));
  }

  @Test
  void expiredStreamsAreTakenOutOldestFirst() throws InterruptedException {
    PendingStreams p = new PendingStreams(10, 10, 50);
    Fake a = new Fake("10.0.0.1", 1);
    p.admit(a);
    Thread.sleep(80);
    Fake b = new Fake("10.0.0.1", 2);
    p.admit(b);
    assertEquals(List.of(a), p.expired(System.nanoTime()));
    assertFalse(p.contains(a));
    assertTrue(p.remove(b));
    assertFalse(p.remove(b));
    assertEquals(0, p.size());
  }
}
