package io.pbft.config;

import com.google.protobuf.ByteString;
import io.pbft.crypto.PublicKeyVerifier;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.crypto.tls.TlsIdentity;
import io.pbft.proto.ReconfigurationAdministration;
import io.pbft.proto.ReconfigurationMember;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A configuration epoch (docs/RECONFIGURATION.md): its number, the ordered members, f and the
 * administration keys. Epoch 0 is cluster.yaml ({@link #initial}); each later epoch is named in
 * full by the reconfiguration command that makes it. Administration keys are held without their
 * key files. The order of the members matters:
 * {@code members[0]} is the primary of view 0 of the epoch.
 *
 * <p>A value, checked when it is made: {@link #problem} gives the rules. Member ids must be
 * distinct, not 0..n-1: removing a replica leaves a gap.
 */
public record Membership(long epoch, List<Member> members, int f, Administration administration) {
  public Membership {
    members = List.copyOf(members);
    // where an administrator keeps a private key is one machine's business, not the group's
    administration = Objects.requireNonNull(administration, "administration").withoutKeyFiles();
    String problem = problem(epoch, members, f, administration);
    if (problem != null) {
      throw new ConfigException("epoch " + epoch + ": " + problem);
    }
  }

  /** Epoch 0: the membership, f and administration keys of cluster.yaml (key files left out). */
  public static Membership initial(ClusterConfig config) {
    List<Member> members = new ArrayList<>(config.n());
    config.replicas().forEach(r -> members.add(Member.of(r)));
    return new Membership(0, members, config.f(), config.administration());
  }

  /**
   * What is wrong with a membership, or null when it is valid. Deterministic: the same answer on
   * every replica, with no clock, file or network involved.
   *
   * <ul>
   *   <li>the epoch is not negative; there is at least one member; f is not negative and
   *       n ≥ 3f + 1 (as in cluster.yaml, f = 0 is allowed: a group that tolerates no fault);
   *   <li>member ids are not negative and distinct; addresses are {@link HostPort host:port} and
   *       distinct (hosts without regard to case); public keys are valid Ed25519 keys and distinct;
   *   <li>a member's TLS certificate, when it has one, is a DER X.509 certificate naming
   *       {@code replica-<id>} (its validity period is not looked at: that needs a clock);
   *   <li>the administration is {@link Administration#NONE} or {@link Administration#problem valid},
   *       and none of its keys is a member's key.
   * </ul>
   */
  public static String problem(long epoch, List<Member> members, int f, Administration administration) {
    if (epoch < 0) {
      return "the epoch number " + Long.toUnsignedString(epoch) + " is out of range";
    }
    int n = members.size();
    if (n == 0) {
      return "the membership lists no members";
    }
    if (f < 0) {
      return "f must not be negative, got " + Integer.toUnsignedString(f);
    }
    if ((long) n < 3L * f + 1) {
      return "tolerating f = " + f + " faults needs n >= 3f + 1 = " + (3L * f + 1) + " members, but there are " + n;
    }
    Map<Integer, Integer> ids = new HashMap<>();
    Map<String, Integer> addresses = new HashMap<>();
    Map<ByteBuffer, Integer> keys = new HashMap<>();
    for (int i = 0; i < n; i++) {
      Member m = members.get(i);
      String where = "members[" + i + "]";
      if (m.id() < 0 || m.id() >= ID_LIMIT) {
        return where + ": id " + Integer.toUnsignedString(m.id()) + " is out of range (ids are below " + ID_LIMIT + ")";
      }
      where += " (replica " + m.id() + ")";
      Integer earlier = ids.putIfAbsent(m.id(), i);
      if (earlier != null) {
        return where + ": id " + m.id() + " is listed twice (also members[" + earlier + "])";
      }
      HostPort address;
      try {
        address = new HostPort(m.host(), m.port());
      } catch (ConfigException e) {
        return where + ": " + e.getMessage();
      }
      earlier = addresses.putIfAbsent(address.normalized(), i);
      if (earlier != null) {
        return where + ": address " + address + " is also replica " + members.get(earlier).id() + "'s";
      }
      byte[] key = m.publicKey();
      try {
        PublicKeyVerifier.of(key);
      } catch (IllegalArgumentException e) {
        return where + ": publicKey is not a valid Ed25519 public key (" + e.getMessage() + ")";
      }
      earlier = keys.putIfAbsent(ByteBuffer.wrap(key), i);
      if (earlier != null) {
        return where + ": publicKey is also replica " + members.get(earlier).id() + "'s";
      }
      if (m.hasTlsCertificate()) {
        String certificate = certificateProblem(m.id(), m.tlsCertificate());
        if (certificate != null) {
          return where + ": tlsCertificate " + certificate;
        }
      }
    }
    if (!administration.isNone()) {
      String problem = administration.problem();
      if (problem != null) {
        return problem;
      }
      for (int k = 0; k < administration.keys().size(); k++) {
        Integer member = keys.get(ByteBuffer.wrap(administration.keys().get(k).publicKey()));
        if (member != null) {
          return "administration.keys[" + k + "]: publicKey is replica " + members.get(member).id()
              + "'s key; a replica must not be able to change the group on its own";
        }
      }
    }
    return null;
  }

  private static String certificateProblem(int id, byte[] der) {
    X509Certificate certificate;
    try {
      certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der));
      // The factory also reads PEM and ignores trailing bytes; the group agrees on exact DER.
      if (!Arrays.equals(certificate.getEncoded(), der)) {
        return "is not exactly one DER-encoded X.509 certificate";
      }
    } catch (CertificateException | ClassCastException e) {
      return "is not an X.509 certificate (" + e.getMessage() + ")";
    }
    TlsIdentity names = TlsIdentity.of(certificate);
    if (!names.equals(TlsIdentity.replica(id))) {
      return "names " + certificate.getSubjectX500Principal().getName() + ", not CN="
          + TlsIdentity.replica(id).commonName();
    }
    return null;
  }

  public int n() {
    return members.size();
  }

  /**
   * Replica ids are below this: members added over the group's life get new ids, and whatever is
   * indexed by replica id (peer links, a client's sessions and authenticators) is sized by it.
   */
  public static final int ID_LIMIT = 128;

  /** One more than the largest member id: the size of an array indexed by this epoch's member ids. */
  public int idBound() {
    int bound = 0;
    for (Member m : members) {
      bound = Math.max(bound, m.id() + 1);
    }
    return bound;
  }

  /** The member ids in the epoch's order, as an array (what a replica core of this epoch runs with). */
  public int[] idArray() {
    return members.stream().mapToInt(Member::id).toArray();
  }

  /** Whether a member has this id. */
  public boolean hasMember(int id) {
    return indexOf(id) >= 0;
  }

  /** The member with this id; a {@link ConfigException} naming the ids there are otherwise. */
  public Member member(int id) {
    int i = indexOf(id);
    if (i < 0) {
      throw new ConfigException("epoch " + epoch + " has no member with id " + id + " (members: " + ids() + ")");
    }
    return members.get(i);
  }

  /** The position of the member with this id, or -1. */
  public int indexOf(int id) {
    for (int i = 0; i < members.size(); i++) {
      if (members.get(i).id() == id) {
        return i;
      }
    }
    return -1;
  }

  /** The member ids, in order. */
  public List<Integer> ids() {
    List<Integer> ids = new ArrayList<>(members.size());
    members.forEach(m -> ids.add(m.id()));
    return ids;
  }

  /**
   * The SHA-256 of this membership's canonical bytes ({@link ReconfigurationSigning#membershipBytes}:
   * epoch, members with id, address, public key and TLS certificate, f, administration keys and
   * threshold): what a command changing this epoch carries to name it. Equal memberships have
   * equal digests, and the epoch a command names has the digest
   * {@link ReconfigurationSigning#nextMembershipDigest} of that command.
   */
  public byte[] digest() {
    return ReconfigurationSigning.membershipDigest(epoch, protoMembers(), f, protoAdministration());
  }

  /** The members as a command lists them. */
  List<ReconfigurationMember> protoMembers() {
    List<ReconfigurationMember> out = new ArrayList<>(members.size());
    for (Member m : members) {
      out.add(ReconfigurationMember.newBuilder()
          .setId(m.id())
          .setAddress(m.address())
          .setPublicKey(ByteString.copyFrom(m.publicKey()))
          .setTlsCertificate(ByteString.copyFrom(m.tlsCertificate()))
          .build());
    }
    return out;
  }

  /** The administration as a command names it. */
  ReconfigurationAdministration protoAdministration() {
    ReconfigurationAdministration.Builder a = ReconfigurationAdministration.newBuilder()
        .setThreshold(administration.threshold());
    administration.keys().forEach(k -> a.addKeys(ByteString.copyFrom(k.publicKey())));
    return a.build();
  }

  /** A change from this epoch to the next, built up from an operator's intent. */
  public MembershipChange change() {
    return new MembershipChange(this);
  }

  /** The next epoch with one more member, at the end of the list. */
  public Membership nextAdding(Member member) {
    return change().add(member).build();
  }

  /** The next epoch without member {@code id}. */
  public Membership nextRemoving(int id) {
    return change().remove(id).build();
  }

  /** The next epoch with member {@code id} on another machine: a new address and a new key. */
  public Membership nextReplacing(int id, String host, int port, byte[] publicKey, byte[] tlsCertificate) {
    return change().replace(id, host, port, publicKey, tlsCertificate).build();
  }

  /** The next epoch with member {@code id} under a new key, at the same address. */
  public Membership nextRotatingKey(int id, byte[] publicKey, byte[] tlsCertificate) {
    return change().rotateKey(id, publicKey, tlsCertificate).build();
  }

  /** The next epoch tolerating {@code f} faults, with the same members. */
  public Membership nextWithFaults(int f) {
    return change().faults(f).build();
  }

  /** The next epoch with other administration keys (and threshold), the same members. */
  public Membership nextWithAdministration(Administration administration) {
    return change().administration(administration).build();
  }
}
