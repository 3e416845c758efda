package io.pbft.replica.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.grpc.stub.ServerCallStreamObserver;
import io.pbft.proto.ReplicaToClient;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Established sessions: bounded in total and per client, the newest of a client winning. */
class ClientSessionsTest {
  static ClientSession established(int clientId) {
    ClientSession s = new ClientSession(new NullObserver(), 1024, new Connection(null, null));
    s.setClient(clientId, new byte[32]);
    return s;
  }

  @Test
  void theNewestSessionsOfAClientWin() {
    ClientSessions sessions = new ClientSessions(10, 2);
    ClientSession a = established(7);
    ClientSession b = established(7);
    ClientSession c = established(7);
    assertEquals(List.of(), sessions.register(a));
    assertEquals(List.of(), sessions.register(b));
    assertEquals(List.of(a), sessions.register(c));
    assertSame(c, sessions.get(7));
    assertEquals(2, sessions.size());
    sessions.closed(a); // already displaced: nothing changes
    assertEquals(2, sessions.size());
    sessions.closed(c);
    assertSame(b, sessions.get(7)); // replies go to the newest left
    sessions.closed(b);
    assertNull(sessions.get(7));
    assertEquals(0, sessions.size());
  }

  @Test
  void aFullReplicaRefusesAndChangesNothing() {
    ClientSessions sessions = new ClientSessions(2, 2);
    sessions.register(established(1));
    sessions.register(established(2));
    assertNull(sessions.register(established(3)));
    assertEquals(2, sessions.size());
    assertNull(sessions.get(3));
  }

  /** A response observer that accepts everything. */
  static final class NullObserver extends ServerCallStreamObserver<ReplicaToClient> {
    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable onCancelHandler) {}

    @Override
    public void setCompression(String compression) {}

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void setOnReadyHandler(Runnable onReadyHandler) {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void onNext(ReplicaToClient value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
