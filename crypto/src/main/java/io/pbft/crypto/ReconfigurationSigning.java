package io.pbft.crypto;

import com.google.protobuf.ByteString;
import io.pbft.proto.AdministrationSignature;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.ReconfigurationAdministration;
import io.pbft.proto.ReconfigurationMember;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The bytes administrators sign for a {@link Reconfiguration}, and the signing and checking of
 * those signatures (docs/RECONFIGURATION.md).
 *
 * <p>Canonical bytes rather than the message's serialization: protobuf does not promise one
 * encoding per value (field order, unknown fields, packed or not), and administrators who build
 * the same change on their own machines must sign the same bytes for their signatures to add up.
 * The encoding is {@link #DOMAIN}, a zero byte, then every field but {@code signatures} in field
 * order: integers fixed-width big-endian, strings and bytes as a 4-byte length then the bytes,
 * lists as a 4-byte count then the elements. Every part is either fixed-width or length-prefixed,
 * so two different commands never have the same bytes.
 *
 * <p>A membership (a configuration epoch: number, members, f, administration) has canonical bytes
 * of its own, {@link #membershipBytes}: {@link #MEMBERSHIP_DOMAIN}, a zero byte, then the same
 * fields in the same layout as in a command. A command carries the SHA-256 of the membership it
 * changes ({@code previous_membership_digest}, signed with the rest), which binds it to one group
 * at one epoch: groups that share administration keys cannot replay each other's commands. The
 * membership a command names has the digest {@link #nextMembershipDigest}, so the digest a command
 * carries is the one its predecessor named.
 *
 * <p>Why the prefix: an administration key signs nothing else, but the prefix makes sure a
 * signature over these bytes can never pass for one over anything else the project signs. Those
 * are all serialized protobuf messages, and no protobuf message starts with these bytes: the third
 * byte, {@code 'f'} (0x66), would be a field tag with wire type 6, which does not exist.
 */
public final class ReconfigurationSigning {
  /** What the signed bytes start with (then a zero byte); a new encoding gets a new version. */
  public static final String DOMAIN = "pbft-reconfiguration-v1";

  /** What a membership's canonical bytes start with (then a zero byte). */
  public static final String MEMBERSHIP_DOMAIN = "pbft-membership-v1";

  private static final byte[] PREFIX = (DOMAIN + "\0").getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MEMBERSHIP_PREFIX = (MEMBERSHIP_DOMAIN + "\0").getBytes(StandardCharsets.US_ASCII);

  private ReconfigurationSigning() {}

  /**
   * The canonical bytes of {@code command}, its {@code signatures} left out: the membership it
   * names (as in {@link #membershipBytes}), the reason, then the previous membership's digest.
   */
  public static byte[] signingBytes(Reconfiguration command) {
    Canonical out = new Canonical();
    out.raw(PREFIX);
    membership(out, command.getEpoch(), command.getMembersList(), command.getF(), command.getAdministration());
    out.bytes(command.getReasonBytes());
    out.bytes(command.getPreviousMembershipDigest());
    return out.toByteArray();
  }

  /**
   * The canonical bytes of a membership: {@link #MEMBERSHIP_DOMAIN}, a zero byte, the epoch
   * (8 bytes), the members (a 4-byte count, then per member id, address, public key and TLS
   * certificate), f, the administration keys (count, then each) and the threshold.
   */
  public static byte[] membershipBytes(long epoch, List<ReconfigurationMember> members, int f,
      ReconfigurationAdministration administration) {
    Canonical out = new Canonical();
    out.raw(MEMBERSHIP_PREFIX);
    membership(out, epoch, members, f, administration);
    return out.toByteArray();
  }

  /** SHA-256 of {@link #membershipBytes}: what names a membership in a command. */
  public static byte[] membershipDigest(long epoch, List<ReconfigurationMember> members, int f,
      ReconfigurationAdministration administration) {
    return Digests.sha256(membershipBytes(epoch, members, f, administration));
  }

  /** The digest of the membership {@code command} names: the one a command changing it must carry. */
  public static byte[] nextMembershipDigest(Reconfiguration command) {
    return membershipDigest(command.getEpoch(), command.getMembersList(), command.getF(),
        command.getAdministration());
  }

  /** The layout a membership has in both encodings. */
  private static void membership(Canonical out, long epoch, List<ReconfigurationMember> members, int f,
      ReconfigurationAdministration administration) {
    out.u64(epoch);
    out.u32(members.size());
    for (ReconfigurationMember m : members) {
      out.u32(m.getId());
      out.bytes(m.getAddressBytes());
      out.bytes(m.getPublicKey());
      out.bytes(m.getTlsCertificate());
    }
    out.u32(f);
    out.u32(administration.getKeysCount());
    for (ByteString key : administration.getKeysList()) {
      out.bytes(key);
    }
    out.u32(administration.getThreshold());
  }

  /** An administrator's signature over the canonical bytes of {@code command}. */
  public static AdministrationSignature sign(Reconfiguration command, Ed25519Keys administrator) {
    return AdministrationSignature.newBuilder()
        .setPublicKey(ByteString.copyFrom(administrator.publicKey()))
        .setSignature(ByteString.copyFrom(administrator.sign(signingBytes(command))))
        .build();
  }

  /** {@code command} with one more signature, by {@code administrator}. */
  public static Reconfiguration signed(Reconfiguration command, Ed25519Keys administrator) {
    return command.toBuilder().addSignatures(sign(command, administrator)).build();
  }

  /**
   * Whether {@code signature} is its key's Ed25519 signature over the canonical bytes of
   * {@code command}. False, never an exception, for a malformed key or signature: the key is the
   * signer's claim, to be checked against the administration keys by the caller.
   */
  public static boolean verifies(Reconfiguration command, AdministrationSignature signature) {
    return verifies(signingBytes(command), signature);
  }

  /** As {@link #verifies(Reconfiguration, AdministrationSignature)}, with the bytes already made. */
  public static boolean verifies(byte[] signingBytes, AdministrationSignature signature) {
    PublicKeyVerifier verifier;
    try {
      verifier = PublicKeyVerifier.of(signature.getPublicKey().toByteArray());
    } catch (IllegalArgumentException e) {
      return false;
    }
    return verifier.verify(signingBytes, signature.getSignature().toByteArray());
  }

  /** Fixed-width big-endian integers and length-prefixed byte strings. */
  private static final class Canonical {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);

    void raw(byte[] b) {
      out.writeBytes(b);
    }

    void u32(int v) {
      out.write(v >>> 24);
      out.write(v >>> 16);
      out.write(v >>> 8);
      out.write(v);
    }

    void u64(long v) {
      out.writeBytes(Digests.bigEndian(v));
    }

    void bytes(ByteString b) {
      u32(b.size());
      out.writeBytes(b.toByteArray());
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }
}
