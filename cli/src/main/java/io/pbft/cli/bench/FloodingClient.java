package io.pbft.cli.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.HandshakeException;
import io.pbft.crypto.Mac;
import io.pbft.crypto.RequestMacs;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.Request;
import io.pbft.proto.RequestMac;
import io.pbft.proto.SignedRequest;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.Collectors;

/**
 * A configured client that floods: it opens a session with every replica (a valid signed
 * handshake) and then sends validly signed puts with ever-increasing timestamps to all of them as
 * fast as HTTP/2 flow control allows, never waiting for a reply. Requests are signed ahead in a
 * pool and reused round-robin with fresh timestamps re-signed in the background, so that the
 * flooder's own CPU is not the limit. With {@code authentication: macs} its requests carry a full,
 * valid authenticator (one MAC per replica under its sessions' keys): it is a correct client that
 * floods, not one that lies. {@code pbft bench --fault flood-client} runs it as a process
 * of its own ({@link #main}: {@code CONFIG CLIENT_ID [KIND]}) until it is killed.
 *
 * <p>Other {@link Kind}s make it a client that lies, as the simulator's Byzantine clients do, at
 * 50 rounds a second: {@code equivocate} sends each replica a different operation under one
 * timestamp, {@code max-timestamp} uses timestamps at the very top of the range and then
 * Long.MAX_VALUE itself, over and over ({@code pbft bench --fault equivocating-client} and
 * {@code max-timestamp-client}); {@code partial-authenticator} sends every replica the same
 * request with an authenticator that checks at some replicas only (or, with signed requests, a
 * spoiled signature to the others), a different split each round ({@link #validAt}; {@code
 * partial-authenticator-client}). {@code replay} sends nothing of its own: it re-sends other
 * clients' requests ({@link Replays}, {@code CONFIG CLIENT_ID replay CAPTURE_FILE}; {@code
 * replaying-client}).
 *
 * <p>Whatever the kind, it counts the replies and the refusals it gets back (by reason) and prints
 * them with what it sent: that is what the replicas made of it.
 */
public final class FloodingClient implements AutoCloseable {
  /** Option naming a file whose creation starts the attack (the process waits for it, warmed up). */
  public static final String ARMED_BY = "--armed-by";

  /** How the client misbehaves. */
  public enum Kind {
    FLOOD("flood"), EQUIVOCATE("equivocate"), MAX_TIMESTAMP("max-timestamp"),
    PARTIAL_AUTHENTICATOR("partial-authenticator"), REPLAY("replay");

    private final String option;

    Kind(String option) {
      this.option = option;
    }

    public String option() {
      return option;
    }

    static Kind parse(String option) {
      for (Kind k : values()) {
        if (k.option.equals(option)) {
          return k;
        }
      }
      throw new IllegalArgumentException("kind must be one of " + Arrays.stream(values()).map(Kind::option)
          .collect(Collectors.joining(", ")) + ", got " + option);
    }
  }

  /** Rounds of the lying kinds: one request per replica per round. */
  private static final long ROUND_MS = 20;
  /** The max-timestamp client starts this far below Long.MAX_VALUE and climbs one per round. */
  private static final long MAX_TIMESTAMP_CLIMB = 500;
  /** The partial authenticator's splits ({@link #validAt}), one per round in turn. */
  private static final int SPLITS = 5;

  private final Kind kind;
  private final long startMs = System.currentTimeMillis();
  private final ClusterConfig config;
  private final int clientId;
  private final Ed25519Keys keys;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong nextTimestamp = new AtomicLong(1);
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  /** The request key of each replica's session, once up (MACs only). */
  private final AtomicReferenceArray<SessionHandshake.SessionKey> requestKeys;
  private final boolean macs;
  /** The replays to send ({@link Kind#REPLAY}), else null. */
  private final Replays replays;
  /** The highest view the replicas report: its primary is the one the partial authenticator splits around. */
  private volatile long view;
  private final AtomicLong replies = new AtomicLong();
  /** Refusals the replicas sent back, by reason (numbers left out, so that like ones add up). */
  private final Map<String, Long> refusals = new ConcurrentSkipListMap<>();

  public FloodingClient(ClusterConfig config, int clientId) {
    this(config, clientId, Kind.FLOOD, null);
  }

  /** @param captureFile where bench's clients capture their requests ({@link Kind#REPLAY} only), else null */
  public FloodingClient(ClusterConfig config, int clientId, Kind kind, Path captureFile) {
    this.kind = kind;
    this.config = config;
    this.clientId = clientId;
    this.keys = config.clientKeys(clientId);
    this.requestKeys = new AtomicReferenceArray<>(config.n());
    this.macs = config.authentication() == Authentication.MACS;
    if ((kind == Kind.REPLAY) != (captureFile != null)) {
      throw new IllegalArgumentException("a capture file goes with the replay kind, and only with it");
    }
    this.replays = captureFile == null ? null : new Replays(captureFile, config.n());
  }

  public long sent() {
    return sent.get();
  }

  /** Requests sent, replies and refusals received (and for the replayer what it overheard), for its log. */
  public String describe() {
    return sent.get() + " requests sent" + (replays == null ? "" : " (" + replays.describe() + ")") + "; "
        + replies.get() + " replies; refused: " + (refusals.isEmpty() ? "none" : refusals)
        + (kind == Kind.PARTIAL_AUTHENTICATOR ? "; view " + view : "");
  }

  /**
   * The next request for {@code replicaId}: the same request for every replica in a round, unless
   * equivocating. Paces the sends: at once for the flooder, one per round for the lying kinds, and
   * whenever a replay is due for the replayer; null if nothing is due yet (the caller asks again).
   */
  private SignedRequest next(int replicaId) throws InterruptedException {
    if (kind == Kind.REPLAY) {
      return replays.next(replicaId, 100);
    }
    if (kind != Kind.FLOOD) {
      Thread.sleep(ROUND_MS);
    }
    long round = (System.currentTimeMillis() - startMs) / ROUND_MS;
    long ts;
    String operation;
    switch (kind) {
      case EQUIVOCATE -> {
        ts = 1 + round;
        operation = "put equivocate-" + clientId + " " + ts + " told-replica-" + replicaId;
      }
      case MAX_TIMESTAMP -> {
        ts = Long.MAX_VALUE - Math.max(0, MAX_TIMESTAMP_CLIMB - round);
        operation = "put top-" + clientId + " " + ts;
      }
      case PARTIAL_AUTHENTICATOR -> {
        ts = 1 + round;
        operation = "put partial-" + clientId + " " + ts;
      }
      default -> {
        ts = nextTimestamp.getAndIncrement();
        operation = "put flood-" + clientId + " " + ts;
      }
    }
    byte[] request = Request.newBuilder().setClientId(clientId).setTimestamp(ts)
        .setOperation(ByteString.copyFromUtf8(operation)).build().toByteArray();
    boolean[] valid = kind == Kind.PARTIAL_AUTHENTICATOR
        ? validAt(round, (int) Long.remainderUnsigned(view, config.n()), config.n(), config.f()) : null;
    if (!macs) {
      byte[] signature = keys.sign(request);
      if (valid != null && !valid[replicaId]) {
        signature[7] ^= 0x10;
      }
      return SignedRequest.newBuilder().setRequest(ByteString.copyFrom(request))
          .setSignature(ByteString.copyFrom(signature)).build();
    }
    ByteString bytes = ByteString.copyFrom(request);
    SignedRequest.Builder b = SignedRequest.newBuilder().setRequest(bytes);
    for (int r = 0; r < requestKeys.length(); r++) {
      SessionHandshake.SessionKey key = requestKeys.get(r);
      if (key != null) {
        RequestMac entry = RequestMacs.entry(r, key, bytes);
        if (valid != null && !valid[r]) {
          byte[] mac = entry.getMac().toByteArray();
          mac[7] ^= 0x10;
          entry = entry.toBuilder().setMac(ByteString.copyFrom(mac)).build();
        }
        b.addAuthenticator(entry);
      }
    }
    return b.build();
  }

  /**
   * Where the partial authenticator's request of {@code round} checks, around {@code primary}: the
   * splits that matter for the vouching rules, in turn (just the primary; the primary and one
   * backup; f + 1 backups without the primary; one backup only; all but one backup), the backups
   * involved moving on by one every cycle. Just the primary is Aardvark's big MAC attack: no
   * backup can vouch for the batch the primary orders it in.
   */
  static boolean[] validAt(long round, int primary, int n, int f) {
    List<Integer> backups = new ArrayList<>();
    for (int i = 1; i < n; i++) {
      backups.add((primary + i) % n);
    }
    Collections.rotate(backups, (int) -((round / SPLITS) % backups.size()));
    boolean[] valid = new boolean[n];
    switch ((int) (round % SPLITS)) {
      case 0 -> valid[primary] = true;
      case 1 -> {
        valid[primary] = true;
        valid[backups.get(0)] = true;
      }
      case 2 -> backups.subList(0, Math.min(f + 1, backups.size())).forEach(b -> valid[b] = true);
      case 3 -> valid[backups.get(0)] = true;
      default -> {
        valid[primary] = true;
        backups.subList(1, backups.size()).forEach(b -> valid[b] = true);
      }
    }
    return valid;
  }

  private boolean allKeysKnown() {
    for (int r = 0; r < requestKeys.length(); r++) {
      if (requestKeys.get(r) == null) {
        return false;
      }
    }
    return true;
  }

  /** Starts one flooding thread per replica (and the replayer's reader, the partial authenticator's view watch). */
  public void start() {
    if (replays != null) {
      replays.start();
    }
    // a client of the cluster: TLS when the cluster has it, with no certificate of its own
    io.grpc.netty.shaded.io.netty.handler.ssl.SslContext tls = io.pbft.client.ClientTls.context(config, null);
    for (ReplicaInfo r : config.replicas()) {
      ManagedChannel channel = io.pbft.client.ClientTls.builder(r, tls).build();
      channels.add(channel);
      Thread t = new Thread(() -> floodReplica(channel, r.id()), "flood-" + r.id());
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
    if (kind == Kind.PARTIAL_AUTHENTICATOR) {
      Thread t = new Thread(this::watchView, "view");
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void floodReplica(ManagedChannel channel, int replicaId) {
    SecureRandom random = new SecureRandom();
    while (!closed.get()) {
      Object lock = new Object();
      AtomicBoolean ended = new AtomicBoolean();
      AtomicBoolean accepted = new AtomicBoolean();
      @SuppressWarnings("unchecked")
      ClientCallStreamObserver<ClientMessage>[] call = new ClientCallStreamObserver[1];
      SessionHandshake.Client handshake = SessionHandshake.start(clientId, replicaId, keys, random);
      Mac[] replyMac = new Mac[1]; // the session's, once the replica accepted it
      ClientServiceGrpc.newStub(channel).session(new ClientResponseObserver<ClientMessage, ReplicaToClient>() {
        @Override
        public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
          call[0] = requestStream;
          requestStream.setOnReadyHandler(() -> wake(lock));
        }

        @Override
        public void onNext(ReplicaToClient value) {
          if (value.hasAccept()) {
            try {
              replyMac[0] = new Mac(handshake.finish(value.getAccept(), config.replica(replicaId).verifier()));
              requestKeys.set(replicaId, handshake.requestKey());
            } catch (HandshakeException e) {
              ended.set(true);
            }
            accepted.set(true);
            wake(lock);
          } else if (value.hasReply() && replyMac[0] != null
              && replyMac[0].verify(value.getReply().getReply().toByteArray(), value.getReply().getMac().toByteArray())) {
            replies.incrementAndGet();
          } else if (value.hasRejection()) {
            refusals.merge(value.getRejection().getReason().replaceAll("\\d+", "N"), 1L, Long::sum);
          }
        }

        @Override
        public void onError(Throwable t) {
          ended.set(true);
          wake(lock);
        }

        @Override
        public void onCompleted() {
          ended.set(true);
          wake(lock);
        }
      });
      try {
        call[0].onNext(ClientMessage.newBuilder()
            .setOpen(handshake.open()).build());
        long waitUntil = System.nanoTime() + 2_000_000_000L;
        // A full authenticator needs every session's key: wait (briefly) for the others.
        while (macs && !allKeysKnown() && System.nanoTime() - waitUntil < 0 && !closed.get()) {
          Thread.sleep(10);
        }
        while (!closed.get() && !ended.get()) {
          synchronized (lock) {
            while (!(accepted.get() && call[0].isReady()) && !ended.get() && !closed.get()) {
              lock.wait(100);
            }
          }
          if (ended.get() || closed.get()) {
            break;
          }
          SignedRequest request = next(replicaId);
          if (request == null) {
            continue;
          }
          call[0].onNext(ClientMessage.newBuilder().setRequest(request).build());
          sent.incrementAndGet();
        }
        call[0].cancel("flood over", null);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // the stream broke under us: open another
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /**
   * Asks every replica for its view (the status any client may ask for) a few times a second: the
   * partial authenticator splits its authenticators around the primary, which moves when the view
   * changes.
   */
  private void watchView() {
    while (!closed.get()) {
      for (int r = 0; r < channels.size() && !closed.get(); r++) {
        try {
          StatusResponse status = ClientServiceGrpc.newBlockingStub(channels.get(r))
              .withDeadlineAfter(500, TimeUnit.MILLISECONDS).status(StatusRequest.getDefaultInstance());
          if (status.getView() > view) {
            view = status.getView();
          }
        } catch (RuntimeException e) {
          // that replica does not answer now: the others tell
        }
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static void wake(Object lock) {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  @Override
  public void close() {
    closed.set(true);
    if (replays != null) {
      replays.close();
    }
    threads.forEach(Thread::interrupt);
    channels.forEach(ManagedChannel::shutdownNow);
  }

  /**
   * {@code CONFIG CLIENT_ID [KIND [CAPTURE_FILE]]} (the capture file for {@code replay} only):
   * misbehaves until killed, printing every second what it sent and what the replicas answered.
   */
  public static void main(String[] args) throws Exception {
    List<String> positional = new ArrayList<>(List.of(args));
    Path armedBy = null;
    int at = positional.indexOf(ARMED_BY);
    if (at >= 0 && at + 1 < positional.size()) {
      armedBy = Path.of(positional.get(at + 1));
      positional.subList(at, at + 2).clear();
    }
    if (positional.size() < 2 || positional.size() > 4) {
      throw new IllegalArgumentException("usage: CONFIG CLIENT_ID [flood|equivocate|max-timestamp|partial-authenticator"
          + "|replay CAPTURE_FILE] [" + ARMED_BY + " FILE]");
    }
    ClusterConfig config = ClusterConfig.load(Path.of(positional.get(0)));
    Kind kind = positional.size() >= 3 ? Kind.parse(positional.get(2)) : Kind.FLOOD;
    Path capture = positional.size() == 4 ? Path.of(positional.get(3)) : null;
    String clientId = positional.get(1);
    FloodingClient flood = new FloodingClient(config, Integer.parseInt(clientId), kind, capture);
    if (armedBy != null) {
      System.out.println(kind.option() + " client " + clientId + ": waiting for " + armedBy);
      System.out.flush();
      while (!Files.exists(armedBy)) {
        Thread.sleep(10);
      }
    }
    flood.start();
    while (true) {
      Thread.sleep(1000);
      System.out.println(kind.option() + " client " + clientId + ": " + flood.describe());
      System.out.flush();
    }
  }
}
