package io.pbft.crypto;

import com.google.protobuf.ByteString;
import io.pbft.proto.AdministrationSignature;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.ReconfigurationAdministration;
import io.pbft.proto.ReconfigurationMember;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

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
 * <p>Why the prefix: an administration key signs nothing else, but the prefix makes sure a
 * signature over these bytes can never pass for one over anything else the project signs. Those
 * are all serialized protobuf messages, and no protobuf message starts with these bytes: the third
 * byte, {@code 'f'} (0x66), would be a field tag with wire type 6, which does not exist.
 */
public final class ReconfigurationSigning {
  /** What the signed bytes start with (then a zero byte); a new encoding gets a new version. */
  public static final String DOMAIN = "pbft-reconfiguration-v1";

  private static final byte[] PREFIX = (DOMAIN + "\0").getBytes(StandardCharsets.US_ASCII);

  private ReconfigurationSigning() {}

  /** The canonical bytes of {@code command}, its {@code signatures} left out. */
  public static byte[] signingBytes(Reconfiguration command) {
    Canonical out = new Canonical();
    out.raw(PREFIX);
    out.u64(command.getEpoch());
    out.u32(command.getMembersCount());
    for (ReconfigurationMember m : command.getMembersList()) {
      out.u32(m.getId());
      out.bytes(m.getAddressBytes());
      out.bytes(m.getPublicKey());
      out.bytes(m.getTlsCertificate());
    }
    out.u32(command.getF());
    ReconfigurationAdministration a = command.getAdministration();
    out.u32(a.getKeysCount());
    for (ByteString key : a.getKeysList()) {
      out.bytes(key);
    }
    out.u32(a.getThreshold());
    out.bytes(command.getReasonBytes());
    return out.toByteArray();
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
