package io.pbft.crypto;

import com.google.protobuf.ByteString;
import io.pbft.proto.PeerMac;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * The pair keys one replica shares with each other replica, for the MACs that authenticate
 * normal-case messages between replicas under {@code authentication: macs} (Castro and Liskov,
 * TOCS 2002, section 3.2: each pair of replicas shares a secret key per direction).
 *
 * <p>The handshake is one signed message each way: every replica announces an ephemeral X25519
 * public key, with an incarnation number that grows across its restarts, in its HEARTBEAT (always
 * Ed25519-signed). From its own private key and a peer's announced key a replica derives:
 *
 * <pre>
 *   shared  = X25519(own private, peer public)
 *   salt    = SHA-256("pbft peer keys v1" || public key of the lower id || public key of the higher id)
 *   key i>j = HKDF-SHA256(shared, salt, info = "pbft peer mac v1 " + i + ">" + j)   (i sends to j)
 *   id  i>j = first 8 bytes of SHA-256(salt || info)
 * </pre>
 *
 * so both ends hold the same two keys and nobody else can compute them. A peer's older
 * incarnation (a replayed announcement) is ignored; a newer one replaces its keys.
 *
 * <p>Holding a peer's key is not enough to MAC to it: the peer may not hold this replica's key yet
 * (its heartbeat is still on the way, or still being verified while a MAC-authenticated message
 * overtakes it), and would drop what it cannot check. So every heartbeat also names, per peer, the
 * id of the key its sender checks that peer's messages with ({@link #heldKeyIds}); a replica MACs
 * to a peer only once the peer has named the key it would use ({@link #confirm}), and signs to it
 * until then (the caller's choice; see {@link #authenticator} and {@link #confirmed}).
 *
 * <p>Thread-safe: the event loop learns keys and authenticates, verification threads check.
 */
public final class PeerKeys {
  public static final int KEY_ID_BYTES = 8;
  private static final byte[] SALT_LABEL = "pbft peer keys v1".getBytes(StandardCharsets.US_ASCII);

  /** Computes a MAC of {@code data} under {@code key}: HMAC-SHA256, or the simulator's stand-in. */
  @FunctionalInterface
  public interface MacFunction {
    byte[] mac(byte[] key, ByteString data);
  }

  private record Own(byte[] privateKey, ByteString publicKey, long incarnation) {}

  private record Key(ByteString id, byte[] key) {}

  /**
   * What this replica knows of one peer: its announcement, the keys derived from it, and whether
   * the peer said it holds the same send key (so MACs to it will check there).
   */
  private record Peer(long incarnation, ByteString publicKey, Key send, Key receive, boolean confirmed) {
    Peer asConfirmed() {
      return new Peer(incarnation, publicKey, send, receive, true);
    }
  }

  private final int self;
  private final MacFunction macs;
  private volatile Own own;
  /** Indexed by replica id; replaced whole (copy on write) under this object's lock. */
  private volatile Peer[] peers;

  /**
   * Keys of replica {@code self} among {@code n}, with the X25519 private key {@code privateKey}
   * (32 bytes; clamped as RFC 7748 says) and incarnation {@code incarnation}.
   */
  public PeerKeys(int self, int n, byte[] privateKey, long incarnation, MacFunction macs) {
    if (n <= 0 || self < 0 || self >= n) {
      throw new IllegalArgumentException("replica " + self + " of " + n);
    }
    this.self = self;
    this.macs = macs;
    this.peers = new Peer[n];
    this.own = own(privateKey, incarnation);
  }

  /** Fresh keys for a replica process: a random private key, HMAC-SHA256. */
  public static PeerKeys generate(int self, int n, SecureRandom random, long incarnation) {
    byte[] privateKey = new byte[X25519.SCALAR_SIZE];
    X25519.generatePrivateKey(random, privateKey);
    return new PeerKeys(self, n, privateKey, incarnation, RequestMacs::mac);
  }

  private static Own own(byte[] privateKey, long incarnation) {
    if (privateKey.length != X25519.SCALAR_SIZE) {
      throw new IllegalArgumentException("an X25519 private key is " + X25519.SCALAR_SIZE + " bytes");
    }
    byte[] publicKey = new byte[X25519.POINT_SIZE];
    X25519.generatePublicKey(privateKey, 0, publicKey, 0);
    return new Own(privateKey.clone(), ByteString.copyFrom(publicKey), incarnation);
  }

  /**
   * A new incarnation of this replica (the simulator restarting it): a new private key, and every
   * pair key derived again from the peers' announcements known so far, none confirmed.
   */
  public synchronized void renew(byte[] privateKey, long incarnation) {
    if (incarnation <= own.incarnation) {
      throw new IllegalArgumentException("incarnation " + incarnation + " after " + own.incarnation);
    }
    own = own(privateKey, incarnation);
    Peer[] next = new Peer[peers.length];
    for (int p = 0; p < next.length; p++) {
      Peer old = peers[p];
      next[p] = old == null ? null : derive(p, old.publicKey(), old.incarnation());
    }
    peers = next;
  }

  public int self() {
    return self;
  }

  /** The group's size n. */
  public int replicas() {
    return peers.length;
  }

  /** This replica's public key to announce. */
  public ByteString publicKey() {
    return own.publicKey();
  }

  /** The incarnation to announce with it. */
  public long incarnation() {
    return own.incarnation();
  }

  /**
   * A peer's signed announcement. Returns true if it told this replica something new (a first or
   * newer key, not yet confirmed): the caller then answers with its own heartbeat, whose announcement
   * and held key ids let both ends confirm the pair's keys within about a round trip and a half. An older
   * incarnation, a repeat, a second key in the same incarnation (a correct replica never makes one)
   * or a malformed key change nothing.
   */
  public synchronized boolean learn(int peer, ByteString publicKey, long incarnation) {
    if (peer < 0 || peer >= peers.length || peer == self || publicKey.size() != X25519.POINT_SIZE) {
      return false;
    }
    Peer known = peers[peer];
    if (known != null && incarnation <= known.incarnation()) {
      return false;
    }
    Peer derived = derive(peer, publicKey, incarnation);
    if (derived == null) {
      return false;
    }
    Peer[] next = peers.clone();
    next[peer] = derived;
    peers = next;
    return true;
  }

  /** Whether this replica holds the pair keys of {@code peer}. */
  public boolean knows(int peer) {
    return peer >= 0 && peer < peers.length && peers[peer] != null;
  }

  /**
   * Whether {@code peer} confirmed that it holds the key this replica MACs to it with: only then
   * do messages to it go MAC-authenticated.
   */
  public boolean confirmed(int peer) {
    if (peer < 0 || peer >= peers.length) {
      return false;
    }
    Peer known = peers[peer];
    return known != null && known.confirmed();
  }

  /**
   * What this replica's heartbeat names: for each replica id, the id of the key this replica checks
   * that replica's MACs with, or an empty string (itself, or a peer whose key it does not hold).
   */
  public List<ByteString> heldKeyIds() {
    Peer[] now = peers;
    List<ByteString> ids = new ArrayList<>(now.length);
    for (Peer p : now) {
      ids.add(p == null ? ByteString.EMPTY : p.receive().id());
    }
    return ids;
  }

  /**
   * {@code peer}'s signed heartbeat named {@code heldByPeer} (its {@link #heldKeyIds} entry for this
   * replica) as the key it checks this replica's MACs with. If that is the key this replica MACs
   * to it with, MACs to the peer are confirmed, until either end announces a new key. Anything
   * else (an empty or older id, from a heartbeat sent before the peer learned this replica's key
   * and delivered late) changes nothing: a confirmation is only undone by a new announcement.
   * Returns true if this confirmed the peer now.
   */
  public synchronized boolean confirm(int peer, ByteString heldByPeer) {
    if (peer < 0 || peer >= peers.length || peer == self) {
      return false;
    }
    Peer known = peers[peer];
    if (known == null || known.confirmed() || !known.send().id().equals(heldByPeer)) {
      return false;
    }
    Peer[] next = peers.clone();
    next[peer] = known.asConfirmed();
    peers = next;
    return true;
  }

  /**
   * The authenticator of {@code payload} for every peer in {@code to} that confirmed this
   * replica's key (see {@link #confirmed}), or for all such peers when {@code to} is null.
   */
  public List<PeerMac> authenticator(ByteString payload, int[] to) {
    Peer[] now = peers;
    List<PeerMac> entries = new ArrayList<>(now.length - 1);
    if (to == null) {
      for (int p = 0; p < now.length; p++) {
        add(entries, now, p, payload);
      }
    } else {
      for (int p : to) {
        add(entries, now, p, payload);
      }
    }
    return entries;
  }

  private void add(List<PeerMac> entries, Peer[] now, int p, ByteString payload) {
    if (p >= 0 && p < now.length && p != self && now[p] != null && now[p].confirmed()) {
      Key k = now[p].send();
      entries.add(PeerMac.newBuilder().setReplicaId(p).setKeyId(k.id())
          .setMac(ByteString.copyFrom(macs.mac(k.key(), payload))).build());
    }
  }

  /**
   * Whether {@code authenticator} holds an entry for this replica that checks: made under the
   * current key {@code sender} and this replica share for messages from {@code sender}.
   */
  public boolean check(int sender, List<PeerMac> authenticator, ByteString payload) {
    if (sender < 0 || sender >= peers.length || sender == self) {
      return false;
    }
    Peer peer = peers[sender];
    if (peer == null) {
      return false;
    }
    for (PeerMac entry : authenticator) {
      if (entry.getReplicaId() == self) {
        return entry.getKeyId().equals(peer.receive().id()) && entry.getMac().size() == Mac.SIZE_BYTES
            && MessageDigest.isEqual(macs.mac(peer.receive().key(), payload), entry.getMac().toByteArray());
      }
    }
    return false;
  }

  private Peer derive(int peer, ByteString publicKey, long incarnation) {
    Own me = own;
    byte[] shared = new byte[X25519.POINT_SIZE];
    if (!X25519.calculateAgreement(me.privateKey(), 0, publicKey.toByteArray(), 0, shared, 0)) {
      return null; // a low-order point: no key with it
    }
    MessageDigest sha = Digests.newSha256();
    sha.update(SALT_LABEL);
    ByteString lower = self < peer ? me.publicKey() : publicKey;
    ByteString higher = self < peer ? publicKey : me.publicKey();
    sha.update(lower.toByteArray());
    sha.update(higher.toByteArray());
    byte[] salt = sha.digest();
    return new Peer(incarnation, publicKey, key(shared, salt, self, peer), key(shared, salt, peer, self), false);
  }

  private static Key key(byte[] shared, byte[] salt, int from, int to) {
    byte[] info = ("pbft peer mac v1 " + from + ">" + to).getBytes(StandardCharsets.US_ASCII);
    HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
    hkdf.init(new HKDFParameters(shared, salt, info));
    byte[] key = new byte[32];
    hkdf.generateBytes(key, 0, key.length);
    MessageDigest sha = Digests.newSha256();
    sha.update(salt);
    byte[] id = Arrays.copyOf(sha.digest(info), KEY_ID_BYTES);
    return new Key(ByteString.copyFrom(id), key);
  }
}
