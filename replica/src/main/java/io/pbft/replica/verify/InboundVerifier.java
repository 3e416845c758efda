package io.pbft.replica.verify;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.pbft.config.ClientInfo;
import io.pbft.config.Authentication;
import io.pbft.config.ClusterConfig;
import io.pbft.crypto.BatchVerifier;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.Mac;
import io.pbft.crypto.PeerKeys;
import io.pbft.crypto.PublicKeyVerifier;
import io.pbft.crypto.SignatureCheck;
import io.pbft.crypto.RequestMacs;
import io.pbft.proto.RequestMac;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.ViewChange;
import io.pbft.proto.Request;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Checks what arrives from outside before the core sees it: sender identity, size, signature,
 * and that the bytes parse. This is the hot cost of a replica (one Ed25519 verification per
 * message, and per client request with {@code authentication: signatures}), so the runtime runs
 * it in a pool off the event loop. With {@code authentication: macs} a client request is checked
 * by the one entry of its authenticator meant for this replica, under a key from {@link
 * RequestKeys}. Thread-safe; pure computation, usable from the simulator as well.
 */
public final class InboundVerifier {
  private final Authentication authentication;
  /** This replica: whose entry of an authenticator it checks; -1 checks none. */
  private final int self;
  private final RequestKeys requestKeys;
  /** The pair keys MAC-authenticated replica messages are checked with; null accepts none. */
  private final PeerKeys peerKeys;
  private final SignatureCheck[] replicas;
  private final Map<Integer, SignatureCheck> clients;
  /** The Ed25519 keys of clients whose signatures may be checked together; empty with other checks. */
  private final Map<Integer, BatchVerifier.Key> batchKeys;
  /**
   * Clients that sent a signature that did not verify: theirs are never checked together again,
   * so that a faulty client cannot make every batch fail and be checked twice.
   */
  private final Set<Integer> badSigners;
  private final byte[] batchSecret;
  /** Makes the check of each public key: Ed25519, or the simulator's fast stand-in. */
  private final Function<byte[], SignatureCheck> checks;
  private final int messageBytesMax;
  private final int operationBytesMax;
  private final int batchSizeMax;
  private final int windowSize;

  /**
   * Signatures verified once are not verified again (see {@link SignatureCache}); null with
   * checks cheaper than the cache's own SHA-256 key (the simulator's fast crypto).
   */
  private final SignatureCache cache;
  /** Computes a request's MAC under a session key: HMAC-SHA256, or the simulator's fast stand-in. */
  private final BiFunction<byte[], ByteString, byte[]> requestMac;
  /** Payloads parsed once for every verifier sharing it (the simulator's replicas); null parses each. */
  private final ParsedPayloads parsed;
  private final ClusterConfig config;
  /** The configuration epoch whose messages this verifier accepts (0 for a group that never changed). */
  private final long epoch;

  /**
   * A verifier for replica {@code self}, checking MACs of requests under {@code requestKeys}
   * (used with {@code authentication: macs}).
   */
  public InboundVerifier(ClusterConfig config, int self, RequestKeys requestKeys) {
    this(config, self, requestKeys, null);
  }

  /**
   * As {@link #InboundVerifier(ClusterConfig, int, RequestKeys)}, also accepting the replica
   * messages that {@link #macAllowed} names when they carry a valid MAC under {@code peerKeys}
   * (null: signatures only).
   */
  public InboundVerifier(ClusterConfig config, int self, RequestKeys requestKeys, PeerKeys peerKeys) {
    this(config, self, requestKeys, peerKeys, new byte[0]);
  }

  /**
   * As {@link #InboundVerifier(ClusterConfig, int, RequestKeys, PeerKeys)}, keying the
   * coefficients of client signatures checked together ({@link #checkTogether}) with {@code
   * batchSecret}: a replica passes random bytes it keeps to itself, so that no client can make
   * signatures knowing them. Without one, the coefficients still depend on the whole batch.
   */
  public InboundVerifier(ClusterConfig config, int self, RequestKeys requestKeys, PeerKeys peerKeys, byte[] batchSecret) {
    this(config, self, requestKeys, peerKeys, new SignatureCache(1 << 16), PublicKeyVerifier::of, RequestMacs::mac,
        null, null, batchSecret.clone());
  }

  /**
   * The messages that may come MAC-authenticated under {@code authentication: macs}: those that
   * never travel as proof to a third party. A PREPARE (the MAC view change works from each
   * replica's signed claim of what prepared, not from 2f signed PREPAREs), a COMMIT (a replica's
   * committed certificate carries only signed ones) and a catch-up certificate's envelope (whose
   * claim counts only for its sender). Everything else is signed in both modes: PRE-PREPARE (it
   * fixes the batch a claim names), CHECKPOINT (stable proofs), VIEW-CHANGE, NEW-VIEW, COMPLAINT
   * (view-change evidence), HEARTBEAT (it announces the pair keys), relayed requests and state
   * transfer.
   */
  public static boolean macAllowed(ReplicaMessage.BodyCase kind) {
    return kind == ReplicaMessage.BodyCase.PREPARE || kind == ReplicaMessage.BodyCase.COMMIT
        || kind == ReplicaMessage.BodyCase.COMMITTED;
  }

  /** How many batches a VIEW-CHANGE's set Q may name per sequence number (MAC view change). */
  public static final int PRE_PREPARED_PER_SEQUENCE_MAX = 4;

  /**
   * A verifier for replica {@code self} that shares this one's cache of verified signatures (the
   * simulator checks every replica's MACs apart and every signature once).
   */
  public InboundVerifier forReplica(int self, RequestKeys requestKeys) {
    return forReplica(self, requestKeys, null);
  }

  /** As {@link #forReplica(int, RequestKeys)}, checking replica MACs under {@code peerKeys}. */
  public InboundVerifier forReplica(int self, RequestKeys requestKeys, PeerKeys peerKeys) {
    return new InboundVerifier(config, self, requestKeys, peerKeys, cache, checks, requestMac, parsed, this, null);
  }

  /**
   * This verifier, and every one {@link #forReplica} makes of it, parsing each payload object
   * once among them (see {@link ParsedPayloads}): for the simulator, whose replicas receive the
   * same message objects. Not thread-safe.
   */
  /**
   * This verifier for the messages of configuration epoch {@code epoch}, whose members and keys
   * {@code config} gives: a message of any other epoch, or carrying one as proof, is refused
   * ({@link Rejection#WRONG_EPOCH}). It shares this one's cache of verified signatures and parsed
   * payloads (a signed payload names its epoch, so nothing verified for one epoch passes for
   * another).
   */
  public InboundVerifier forEpoch(long epoch, ClusterConfig config) {
    return forEpoch(epoch, config, peerKeys);
  }

  /** As {@link #forEpoch(long, ClusterConfig)}, checking replica MACs under that epoch's {@code peerKeys}. */
  public InboundVerifier forEpoch(long epoch, ClusterConfig config, PeerKeys peerKeys) {
    return new InboundVerifier(config, self, requestKeys, peerKeys, cache, checks, requestMac, parsed, null, batchSecret,
        epoch);
  }

  /** The configuration epoch whose messages this verifier accepts. */
  public long epoch() {
    return epoch;
  }

  public InboundVerifier parsingOnce() {
    return new InboundVerifier(config, self, requestKeys, peerKeys, cache, checks, requestMac, new ParsedPayloads(1 << 12),
        this, null);
  }

  private InboundVerifier(ClusterConfig config, int self, RequestKeys requestKeys, PeerKeys peerKeys, SignatureCache cache,
      Function<byte[], SignatureCheck> checks, BiFunction<byte[], ByteString, byte[]> requestMac,
      ParsedPayloads parsed, InboundVerifier from, byte[] batchSecret) {
    this(config, self, requestKeys, peerKeys, cache, checks, requestMac, parsed, from, batchSecret,
        from == null ? 0 : from.epoch);
  }

  private InboundVerifier(ClusterConfig config, int self, RequestKeys requestKeys, PeerKeys peerKeys, SignatureCache cache,
      Function<byte[], SignatureCheck> checks, BiFunction<byte[], ByteString, byte[]> requestMac,
      ParsedPayloads parsed, InboundVerifier from, byte[] batchSecret, long epoch) {
    this.config = config;
    this.epoch = epoch;
    this.requestMac = requestMac;
    this.checks = checks;
    this.cache = cache;
    this.parsed = parsed;
    this.authentication = config.authentication();
    this.self = self;
    this.requestKeys = requestKeys;
    this.peerKeys = peerKeys;
    if (from != null) {
      // the same identities checked the same way: decoding each public key once is enough
      replicas = from.replicas;
      clients = from.clients;
      batchKeys = from.batchKeys;
      badSigners = from.badSigners;
      this.batchSecret = from.batchSecret;
    } else {
      // Indexed by replica id; null where no member has that id (ids of removed members).
      replicas = new SignatureCheck[config.idBound()];
      for (io.pbft.config.ReplicaInfo r : config.replicas()) {
        replicas[r.id()] = checks.apply(r.publicKey());
      }
      clients = new HashMap<>();
      batchKeys = new HashMap<>();
      for (ClientInfo c : config.clients()) {
        SignatureCheck check = checks.apply(c.publicKey());
        clients.put(c.id(), check);
        if (check instanceof PublicKeyVerifier) {
          batchKeys.put(c.id(), BatchVerifier.key(c.publicKey()));
        }
      }
      badSigners = Collections.synchronizedSet(new HashSet<>());
      this.batchSecret = batchSecret == null ? new byte[0] : batchSecret;
    }
    messageBytesMax = config.transport().messageBytesMax();
    operationBytesMax = config.protocol().operationBytesMax();
    batchSizeMax = config.protocol().batchSizeMax();
    windowSize = config.protocol().windowSize();
  }

  /**
   * A verifier that is no replica: it checks signatures only, and with {@code authentication:
   * macs} finds no client request authenticated (requests inside a pre-prepare pass unauthenticated,
   * requests on their own are refused).
   */
  public InboundVerifier(ClusterConfig config) {
    this(config, -1, RequestKeys.NONE);
  }

  /**
   * As {@link #InboundVerifier(ClusterConfig)}, with each identity's signatures checked by what
   * {@code checks} makes of its public key instead of by Ed25519 (the simulator's fast crypto),
   * each time: such checks cost less than keying a cache of them.
   */
  public InboundVerifier(ClusterConfig config, Function<byte[], SignatureCheck> checks) {
    this(config, checks, RequestMacs::mac);
  }

  /**
   * As {@link #InboundVerifier(ClusterConfig, Function)}, with requests' MACs computed by {@code
   * requestMac} (key, request bytes) instead of HMAC-SHA256: the simulator's fast crypto.
   */
  public InboundVerifier(ClusterConfig config, Function<byte[], SignatureCheck> checks,
      BiFunction<byte[], ByteString, byte[]> requestMac) {
    this(config, -1, RequestKeys.NONE, null, null, checks, requestMac, null, null, null);
  }

  public boolean knownClient(int clientId) {
    return clients.containsKey(clientId);
  }

  public SignatureCheck clientVerifier(int clientId) {
    return clients.get(clientId);
  }

  public SignatureCheck replicaVerifier(int replicaId) {
    return replicaId >= 0 && replicaId < replicas.length ? replicas[replicaId] : null;
  }

  /** Signature checks saved by the cache of valid signatures. */
  public long signaturesReused() {
    return cache == null ? 0 : cache.hits();
  }

  /** As {@link #verify(SignedMessage, Position)}, filtering nothing by position. */
  public Verdict<VerifiedMessage> verify(SignedMessage signed) {
    return verify(signed, Position.ANY);
  }

  /**
   * Checks a replica message: known sender, bounded size, valid signature, parseable body, and
   * for a pre-prepare every client request inside it, for a view change every message it
   * carries. Cheap checks come first: the message's own signature and shape, then whether it can
   * still matter at {@code position} (stale view changes, pre-prepares outside the view or window,
   * certificates for batches already executed are dropped before their embedded signatures are
   * verified, so a faulty replica cannot make this replica verify thousands of them for nothing).
   */
  public Verdict<VerifiedMessage> verify(SignedMessage signed, Position position) {
    int sender = signed.getSender();
    if (replicaVerifier(sender) == null) {
      return Verdict.rejected(Rejection.UNKNOWN_SENDER, "sender " + sender);
    }
    if (!signed.getUnknownFields().asMap().isEmpty()) {
      return Verdict.rejected(Rejection.UNKNOWN_FIELDS, "in the signed envelope");
    }
    if (signed.getSerializedSize() > messageBytesMax) {
      return Verdict.rejected(Rejection.OVERSIZED_MESSAGE, signed.getSerializedSize() + " bytes");
    }
    boolean maced = signed.getAuthenticatorCount() > 0;
    if (maced) {
      if (!signed.getSignature().isEmpty()) {
        return Verdict.rejected(Rejection.MALFORMED, "both a signature and an authenticator");
      }
      if (signed.getAuthenticatorCount() > replicas.length) {
        return Verdict.rejected(Rejection.TOO_MANY_ENTRIES, signed.getAuthenticatorCount() + " authenticator entries");
      }
      if (peerKeys == null || !peerKeys.check(sender, signed.getAuthenticatorList(), signed.getPayload())) {
        return Verdict.rejected(Rejection.BAD_PEER_MAC, "claims sender " + sender);
      }
    } else if (!replicaSigned(signed)) {
      return Verdict.rejected(Rejection.BAD_SIGNATURE, "claims sender " + sender);
    }
    ParsedPayloads.Parsed payload = parse(signed.getPayload());
    ReplicaMessage message = payload.message();
    if (message == null) {
      return Verdict.rejected(Rejection.MALFORMED, "payload does not parse");
    }
    if (message.getEpoch() != epoch) {
      return Verdict.rejected(Rejection.WRONG_EPOCH, "a " + message.getBodyCase() + " of epoch " + message.getEpoch()
          + " at epoch " + epoch);
    }
    if (maced && !macAllowed(message.getBodyCase())) {
      return Verdict.rejected(Rejection.MAC_NOT_ALLOWED, "a " + message.getBodyCase());
    }
    if (payload.unknownFields()) {
      return Verdict.rejected(Rejection.UNKNOWN_FIELDS, "in a " + message.getBodyCase() + " payload");
    }
    // Cheap checks before the embedded signatures: a message of a valid sender could otherwise
    // make every replica verify thousands of signatures (as many as fit in messageBytesMax).
    String shape = shapeError(message);
    if (shape != null) {
      return Verdict.rejected(Rejection.TOO_MANY_ENTRIES, shape);
    }
    String useless = uselessAt(message, position);
    if (useless != null) {
      return Verdict.rejected(Rejection.STALE_UNCHECKED, useless);
    }
    List<VerifiedRequest> requests = List.of();
    switch (message.getBodyCase()) {
      case BODY_NOT_SET:
        return Verdict.rejected(Rejection.MALFORMED, "empty body");
      case PRE_PREPARE: {
        List<SignedRequest> batch = message.getPrePrepare().getBatch().getRequestsList();
        if (batch.size() >= TOGETHER_MIN && authentication == Authentication.SIGNATURES) {
          checkTogether(batch);
        }
        List<VerifiedRequest> checked = new ArrayList<>(batch.size());
        for (SignedRequest r : batch) {
          Verdict<VerifiedRequest> v = check(r, -1, true);
          if (!v.isOk()) {
            return Verdict.rejected(Rejection.EMBEDDED_INVALID_REQUEST, "pre-prepare: " + v.describe());
          }
          checked.add(v.value());
        }
        requests = List.copyOf(checked);
        break;
      }
      case VIEW_CHANGE:
        if (!embeddedValid(message.getViewChange())) {
          return Verdict.rejected(Rejection.EMBEDDED_BAD_SIGNATURE, "in a view-change");
        }
        break;
      case NEW_VIEW:
        for (SignedMessage vc : message.getNewView().getViewChangesList()) {
          ReplicaMessage body = signedBody(vc);
          if (body == null || !body.hasViewChange() || !embeddedValid(body.getViewChange())) {
            return Verdict.rejected(Rejection.EMBEDDED_BAD_SIGNATURE, "in a new-view's view-changes");
          }
        }
        for (SignedMessage pp : message.getNewView().getPrePreparesList()) {
          if (signedBody(pp) == null) {
            return Verdict.rejected(Rejection.EMBEDDED_BAD_SIGNATURE, "in a new-view's pre-prepares");
          }
        }
        break;
      case COMMITTED:
        if (signedBody(message.getCommitted().getPrePrepare()) == null) {
          return Verdict.rejected(Rejection.EMBEDDED_BAD_SIGNATURE, "in a committed certificate");
        }
        for (SignedMessage c : message.getCommitted().getCommitsList()) {
          if (signedBody(c) == null) {
            return Verdict.rejected(Rejection.EMBEDDED_BAD_SIGNATURE, "in a committed certificate");
          }
        }
        break;
      case FORWARDED_REQUEST: {
        // A backup relays what its client sent it, checked against its own authenticator entry;
        // ours may not check (a client can make entries that check for some replicas only), and
        // the core orders such a request only once f + 1 backups relayed it.
        Verdict<VerifiedRequest> v = check(message.getForwardedRequest().getRequest(), -1, true);
        if (!v.isOk()) {
          return Verdict.rejected(Rejection.EMBEDDED_INVALID_REQUEST, "forwarded: " + v.describe());
        }
        requests = List.of(v.value());
        break;
      }
      default:
        break;
    }
    return Verdict.ok(new VerifiedMessage(sender, message, signed, requests));
  }

  /**
   * What is wrong with the shape of a message, judged from the protocol's bounds alone, or null:
   * no list is longer than a correct replica ever makes it (a batch at most batchSizeMax
   * requests, a view change at most one certificate per sequence number in the window, a
   * certificate or a proof at most one message per replica). Who may send what (the primary of
   * a view, a view the receiver is in) is the core's to judge, with its state.
   */
  private String shapeError(ReplicaMessage message) {
    int n = config.n();
    switch (message.getBodyCase()) {
      case PRE_PREPARE -> {
        int requests = message.getPrePrepare().getBatch().getRequestsCount();
        if (requests > batchSizeMax) {
          return "pre-prepare batch of " + requests + " requests, at most " + batchSizeMax;
        }
      }
      case VIEW_CHANGE -> {
        ViewChange vc = message.getViewChange();
        if (vc.getCheckpointProofCount() > n || vc.getComplaintsCount() > n || vc.getPreparedCount() > windowSize
            || vc.getPreparedList().stream().anyMatch(c -> c.getPreparesCount() > n)
            || vc.getPrePreparedCount() > windowSize * PRE_PREPARED_PER_SEQUENCE_MAX) {
          return "view-change certificates beyond the window or n";
        }
      }
      case NEW_VIEW -> {
        if (message.getNewView().getViewChangesCount() > n || message.getNewView().getPrePreparesCount() > windowSize) {
          return "new-view with more than n view-changes or window pre-prepares";
        }
      }
      case COMMITTED -> {
        if (message.getCommitted().getCommitsCount() > n) {
          return "committed certificate with more than n commits";
        }
      }
      default -> { }
    }
    return null;
  }

  /** Why {@code message} cannot matter to a replica at {@code position}, or null. */
  private static String uselessAt(ReplicaMessage message, Position position) {
    if (!position.filters()) {
      return null;
    }
    switch (message.getBodyCase()) {
      case VIEW_CHANGE -> {
        long v = message.getViewChange().getNewView();
        return position.staleView(v) ? "view-change for view " + v + " at view " + position.view() : null;
      }
      case NEW_VIEW -> {
        long v = message.getNewView().getView();
        return position.staleView(v) ? "new-view for view " + v + " at view " + position.view() : null;
      }
      case PRE_PREPARE -> {
        long v = message.getPrePrepare().getView();
        long s = message.getPrePrepare().getSequence();
        return position.unusablePrePrepare(v, s) ? "pre-prepare v=" + v + " n=" + s : null;
      }
      case COMMITTED -> {
        try {
          long s = ReplicaMessage.parseFrom(message.getCommitted().getPrePrepare().getPayload()).getPrePrepare()
              .getSequence();
          return position.unusableCommitted(s) ? "committed certificate for n=" + s : null;
        } catch (InvalidProtocolBufferException e) {
          return null; // its own check refuses it
        }
      }
      default -> {
        return null;
      }
    }
  }

  /** The message's signature by its claimed sender, verified once. */
  private boolean replicaSigned(SignedMessage m) {
    if (cache == null) {
      return replicas[m.getSender()].verify(m.getPayload().toByteArray(), m.getSignature().toByteArray());
    }
    ByteString key = SignatureCache.key(0, m.getSender(), m.getPayload(), m.getSignature());
    if (cache.known(key)) {
      return true;
    }
    if (!replicas[m.getSender()].verify(m.getPayload().toByteArray(), m.getSignature().toByteArray())) {
      return false;
    }
    cache.remember(key);
    return true;
  }

  /** Signatures of every message a VIEW-CHANGE uses as proof. */
  private boolean embeddedValid(ViewChange vc) {
    for (SignedMessage c : vc.getComplaintsList()) {
      if (signedBody(c) == null) {
        return false;
      }
    }
    for (SignedMessage cp : vc.getCheckpointProofList()) {
      if (signedBody(cp) == null) {
        return false;
      }
    }
    for (PreparedCertificate cert : vc.getPreparedList()) {
      if (signedBody(cert.getPrePrepare()) == null) {
        return false;
      }
      for (SignedMessage p : cert.getPreparesList()) {
        if (signedBody(p) == null) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Whether an authenticator with more entries than this epoch has replica ids still names each of
   * at most {@link io.pbft.config.Membership#ID_LIMIT} ids once: a client that follows the group
   * to an epoch with members added makes one for each member it knows, which a replica still in
   * the epoch before (fewer ids) must not refuse.
   */
  private static boolean distinctReplicaIds(SignedRequest signed) {
    if (signed.getAuthenticatorCount() > io.pbft.config.Membership.ID_LIMIT) {
      return false;
    }
    java.util.BitSet seen = new java.util.BitSet(io.pbft.config.Membership.ID_LIMIT);
    for (RequestMac e : signed.getAuthenticatorList()) {
      int r = e.getReplicaId();
      if (r < 0 || r >= io.pbft.config.Membership.ID_LIMIT || seen.get(r)) {
        return false;
      }
      seen.set(r);
    }
    return true;
  }

  /** The body of an embedded signed message if its sender is known and its signature valid. */
  private ReplicaMessage signedBody(SignedMessage m) {
    int sender = m.getSender();
    if (replicaVerifier(sender) == null) {
      return null;
    }
    if (!replicaSigned(m)) {
      return null;
    }
    ReplicaMessage body = parsed == null ? parseOnly(m.getPayload()) : parsed.parse(m.getPayload()).message();
    return body == null || body.getEpoch() != epoch ? null : body; // proof from another epoch proves nothing here
  }

  /** A payload parsed and checked for unknown fields, through the shared memory if there is one. */
  public ParsedPayloads.Parsed parse(ByteString payload) {
    return parsed == null ? ParsedPayloads.parseNow(payload) : parsed.parse(payload);
  }

  private static ReplicaMessage parseOnly(ByteString payload) {
    try {
      return ReplicaMessage.parseFrom(payload);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /**
   * Checks a client request on its own (from the client, or relayed by a backup): parseable, from
   * a known client (and from {@code sessionClient} when it is not negative), an operation within
   * bounds, and authentic: the client's valid signature, or with {@code authentication: macs} a
   * valid authenticator entry for this replica. A request this replica cannot authenticate is
   * refused: a correct primary proposes only requests it authenticated itself.
   */
  public Verdict<VerifiedRequest> verify(SignedRequest signed, int sessionClient) {
    return check(signed, sessionClient, false);
  }

  /**
   * As {@link #verify(SignedRequest, int)}; with {@code inBatch} (a request carried by a
   * pre-prepare) a MAC that does not check leaves the request unauthenticated instead of refused:
   * the client may have sent this replica a bad MAC on purpose, and the core lets the primary and
   * f backups vouch for it.
   */
  private Verdict<VerifiedRequest> check(SignedRequest signed, int sessionClient, boolean inBatch) {
    Request request;
    try {
      request = Request.parseFrom(signed.getRequest());
    } catch (InvalidProtocolBufferException e) {
      return Verdict.rejected(Rejection.MALFORMED, "request does not parse");
    }
    if (!signed.getUnknownFields().asMap().isEmpty() || !request.getUnknownFields().asMap().isEmpty()) {
      return Verdict.rejected(Rejection.UNKNOWN_FIELDS, "in a request");
    }
    if (sessionClient >= 0 && request.getClientId() != sessionClient) {
      return Verdict.rejected(Rejection.WRONG_CLIENT, "client " + request.getClientId() + " on " + sessionClient + "'s");
    }
    SignatureCheck verifier = clients.get(request.getClientId());
    if (verifier == null) {
      return Verdict.rejected(Rejection.UNKNOWN_CLIENT, "client " + request.getClientId());
    }
    if (request.getOperation().size() > operationBytesMax) {
      return Verdict.rejected(Rejection.OVERSIZED_OPERATION, request.getOperation().size() + " bytes");
    }
    if (request.hasReconfiguration() && (request.getReadOnly() || !request.getOperation().isEmpty())) {
      // A reconfiguration is ordered and executed by the group itself: a read-only one would be
      // answered from no ordering at all, and an operation beside it would be left out.
      return Verdict.rejected(Rejection.MALFORMED, "client " + request.getClientId() + ": a reconfiguration "
          + (request.getReadOnly() ? "marked read-only" : "with an operation beside it"));
    }
    if (inBatch && request.getReadOnly()) {
      // A read-only request is answered by each replica from its state, never ordered: a primary
      // that proposes one (or a backup that relays one) proposes what no client asked to order.
      return Verdict.rejected(Rejection.READ_ONLY_ORDERED, "client " + request.getClientId());
    }
    if (authentication == Authentication.MACS) {
      if (signed.getAuthenticatorCount() > replicas.length && !distinctReplicaIds(signed)) {
        return Verdict.rejected(Rejection.TOO_MANY_ENTRIES, "authenticator of " + signed.getAuthenticatorCount()
            + " entries for " + replicas.length + " replica ids");
      }
      boolean authentic = macValid(signed, request.getClientId());
      if (!authentic && !inBatch) {
        return Verdict.rejected(Rejection.BAD_CLIENT_MAC, "client " + request.getClientId() + ", replica " + self);
      }
      return Verdict.ok(new VerifiedRequest(signed, request, authentic));
    }
    if (cache == null) {
      return verifier.verify(signed.getRequest().toByteArray(), signed.getSignature().toByteArray())
          ? Verdict.ok(new VerifiedRequest(signed, request))
          : Verdict.rejected(Rejection.BAD_CLIENT_SIGNATURE, "client " + request.getClientId());
    }
    ByteString key = SignatureCache.key(1, request.getClientId(), signed.getRequest(), signed.getSignature());
    if (!cache.known(key)) {
      if (!verifier.verify(signed.getRequest().toByteArray(), signed.getSignature().toByteArray())) {
        badSigners.add(request.getClientId());
        return Verdict.rejected(Rejection.BAD_CLIENT_SIGNATURE, "client " + request.getClientId());
      }
      cache.remember(key);
    }
    return Verdict.ok(new VerifiedRequest(signed, request));
  }

  /** Fewer signatures than this are checked one at a time: together they would cost about as much. */
  public static final int TOGETHER_MIN = 4;
  /** At most this many are checked together: beyond, each costs hardly less (PERFORMANCE.md). */
  public static final int TOGETHER_MAX = 32;

  /**
   * Checks the Ed25519 signatures of these client requests together ({@link BatchVerifier}) and
   * remembers them as verified when they all are, so that {@link #verify} then finds each in the
   * cache. Requests already verified, of unknown clients, of clients that once sent a bad
   * signature, or that do not parse are left out and verified alone later, as is everything when
   * the batch fails: the verdict on each request is the same either way, only its cost differs.
   * Does nothing without Ed25519 checks and a cache (the simulator's fast crypto).
   *
   * @return how many signatures were found valid together
   */
  public int checkTogether(List<SignedRequest> requests) {
    if (cache == null || batchKeys.isEmpty() || requests.size() < TOGETHER_MIN) {
      return 0;
    }
    List<BatchVerifier.Item> items = new ArrayList<>(Math.min(requests.size(), TOGETHER_MAX));
    List<ByteString> keys = new ArrayList<>(items.size());
    for (SignedRequest signed : requests) {
      if (items.size() == TOGETHER_MAX) {
        break;
      }
      if (signed.getSignature().size() != Ed25519Keys.SIGNATURE_BYTES) {
        continue;
      }
      int clientId;
      try {
        clientId = Request.parseFrom(signed.getRequest()).getClientId();
      } catch (InvalidProtocolBufferException e) {
        continue;
      }
      BatchVerifier.Key key = batchKeys.get(clientId);
      if (key == null || badSigners.contains(clientId)) {
        continue;
      }
      ByteString cacheKey = SignatureCache.key(1, clientId, signed.getRequest(), signed.getSignature());
      if (cache.peek(cacheKey)) {
        continue;
      }
      items.add(new BatchVerifier.Item(key, signed.getRequest().toByteArray(), signed.getSignature().toByteArray()));
      keys.add(cacheKey);
    }
    if (items.size() < TOGETHER_MIN || !BatchVerifier.verifyAll(items, batchSecret)) {
      return 0;
    }
    for (ByteString k : keys) {
      cache.remember(k);
    }
    return keys.size();
  }

  /** Whether the authenticator's entry for this replica is the MAC of a key it shares with the client. */
  private boolean macValid(SignedRequest signed, int clientId) {
    if (self < 0) {
      return false;
    }
    for (RequestMac entry : signed.getAuthenticatorList()) {
      if (entry.getReplicaId() != self) {
        continue;
      }
      if (entry.getMac().size() != Mac.SIZE_BYTES || entry.getKeyId().size() != RequestMacs.KEY_ID_BYTES) {
        return false;
      }
      byte[] key = requestKeys.key(clientId, entry.getKeyId());
      return key != null && MessageDigest.isEqual(requestMac.apply(key, signed.getRequest()), entry.getMac().toByteArray());
    }
    return false;
  }

  /**
   * Whether {@code m} or any message inside it carries fields this version does not know. They
   * are refused: a newer peer or client must wait for this replica to be upgraded, and an
   * outsider cannot make a replica hold bytes that mean nothing.
   *
   * <p>It visits only message-typed fields: listing every set field with {@code getAllFields},
   * as it first did, built a sorted map per message (8 % of a simulated run).
   */
  public static boolean hasUnknownFields(Message m) {
    if (!m.getUnknownFields().asMap().isEmpty()) {
      return true;
    }
    for (Descriptors.FieldDescriptor field : m.getDescriptorForType().getFields()) {
      if (field.getJavaType() != Descriptors.FieldDescriptor.JavaType.MESSAGE) {
        continue; // only message-typed fields can hold unknown fields further down
      }
      if (field.isRepeated()) {
        int count = m.getRepeatedFieldCount(field);
        for (int i = 0; i < count; i++) {
          if (hasUnknownFields((Message) m.getRepeatedField(field, i))) {
            return true;
          }
        }
      } else if (m.hasField(field) && hasUnknownFields((Message) m.getField(field))) {
        return true;
      }
    }
    return false;
  }

}
