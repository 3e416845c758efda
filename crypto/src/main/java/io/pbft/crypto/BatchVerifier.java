package io.pbft.crypto;

import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.math.ec.rfc7748.X25519Field;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Ed25519 verification with the cofactored equation, one signature at a time or many at once.
 *
 * <p>A signature (R, S) by key A over M is valid when S is canonical (below the group order L), R
 * and A are canonical point encodings, and [8]([S]B - R - [h]A) is the identity, h = SHA-512(R ||
 * A || M) mod L (RFC 8032 5.1.7 allows this form). Every signature RFC 8032 signing produces passes.
 * Verifying many at once checks [8]([sum z_i S_i]B - sum [z_i]R_i - sum [z_i h_i]A_i) = identity with
 * 128-bit z_i, sharing the doublings of one multi-scalar multiplication: with 16 or more
 * signatures, each costs about 0.55x of a verification on its own (PERFORMANCE.md). The z_i are
 * the hash of a secret of the caller's and of the whole batch, so no signer can choose its
 * signature knowing them (and this code needs no random source: the same batch gets the same
 * verdict). A batch with any invalid signature fails except with probability about 2^-128, and
 * then the caller verifies them one by one.
 *
 * <p>Why cofactored: batch verification can only be cofactored, and a replica must reach the same
 * verdict on a signature whether it checked it alone or in a batch, or a client could send a
 * signature that one replica accepts and another refuses (BouncyCastle's own verification is
 * cofactorless, and disagrees on signatures whose R carries a small-order component, which only
 * the key's owner can make). So client request signatures are always checked here, single or
 * batched; replica signatures, never batched, keep {@link PublicKeyVerifier}.
 *
 * <p>Keys are validated as {@link PublicKeyVerifier} validates them (not of small order), and
 * each decoded key keeps its table of odd multiples, so a batch pays for neither. Thread-safe.
 */
public final class BatchVerifier {
  private static final BigInteger P = BigInteger.ONE.shiftLeft(255).subtract(BigInteger.valueOf(19));
  private static final BigInteger L =
      BigInteger.ONE.shiftLeft(252).add(new BigInteger("27742317777372353535851937790883648493"));
  private static final int[] D2 = fieldOf(BigInteger.valueOf(-121665)
      .multiply(BigInteger.valueOf(121666).modInverse(P)).mod(P).shiftLeft(1).mod(P));
  private static final int[] D = fieldOf(BigInteger.valueOf(-121665)
      .multiply(BigInteger.valueOf(121666).modInverse(P)).mod(P));
  /** Window of the signed digits: tables hold the odd multiples 1P, 3P, ..., 15P. */
  private static final int W = 5;
  private static final int TABLE = 1 << (W - 2);
  private static final Cached[] BASE_TABLE;

  static {
    byte[] b = new byte[32];
    b[0] = 0x58;
    Arrays.fill(b, 1, 32, (byte) 0x66);
    BASE_TABLE = table(decode(b));
  }

  private BatchVerifier() {}

  /** A public key decoded once, with its table. */
  public static final class Key {
    private final byte[] encoded;
    private final Cached[] table;

    private Key(byte[] encoded, Cached[] table) {
      this.encoded = encoded;
      this.table = table;
    }

    public byte[] encoded() {
      return encoded.clone();
    }
  }

  /** @throws IllegalArgumentException if the bytes are not a valid Ed25519 public key */
  public static Key key(byte[] publicKey) {
    if (publicKey == null || publicKey.length != Ed25519.PUBLIC_KEY_SIZE
        || Ed25519.validatePublicKeyFullExport(publicKey, 0) == null) {
      throw new IllegalArgumentException("not a valid Ed25519 public key");
    }
    Point a = decode(publicKey);
    if (a == null) {
      throw new IllegalArgumentException("not a canonical Ed25519 public key encoding");
    }
    return new Key(publicKey.clone(), table(a));
  }

  /** A signature to check: by {@code key}, over {@code message}. */
  public record Item(Key key, byte[] message, byte[] signature) {}

  /** Whether {@code signature} is valid by {@code key} over {@code message}; never throws on bad input. */
  public static boolean verify(Key key, byte[] message, byte[] signature) {
    return verifyAll(List.of(new Item(key, message, signature)), new byte[0]);
  }

  /**
   * Whether every signature is valid; false if any is not (up to 2^-128), or if any is malformed.
   * {@code secret} (any length; random and kept by the caller, so that nobody who signs can
   * predict the z_i) keys the z_i.
   */
  public static boolean verifyAll(List<Item> items, byte[] secret) {
    int k = items.size();
    if (k == 0) {
      return true;
    }
    byte[] transcript = null;
    if (k > 1) {
      MessageDigest all = sha512();
      all.update(secret);
      for (Item item : items) {
        if (item.key() == null || item.message() == null || item.signature() == null) {
          return false;
        }
        all.update(item.signature());
        all.update(item.key().encoded);
        all.update(intBytes(item.message().length));
        all.update(item.message());
      }
      transcript = all.digest();
    }
    // Points: B, then R_i and A_i for every signature.
    Cached[][] tables = new Cached[1 + 2 * k][];
    byte[][] digits = new byte[1 + 2 * k][];
    boolean[] subtract = new boolean[1 + 2 * k];
    BigInteger b = BigInteger.ZERO;
    byte[] zBytes = new byte[16];
    MessageDigest sha512 = sha512();
    for (int i = 0; i < k; i++) {
      Item item = items.get(i);
      byte[] sig = item.signature();
      if (item.key() == null || item.message() == null || sig == null || sig.length != 64) {
        return false;
      }
      BigInteger s = littleEndian(sig, 32, 32);
      if (s.compareTo(L) >= 0) {
        return false;
      }
      Point r = decode(Arrays.copyOfRange(sig, 0, 32));
      if (r == null) {
        return false;
      }
      sha512.reset();
      sha512.update(sig, 0, 32);
      sha512.update(item.key().encoded);
      sha512.update(item.message());
      BigInteger h = littleEndian(sha512.digest(), 0, 64).mod(L);
      BigInteger z;
      if (k == 1) {
        z = BigInteger.ONE;
      } else {
        sha512.reset();
        sha512.update(secret);
        sha512.update(transcript);
        sha512.update(intBytes(i));
        System.arraycopy(sha512.digest(), 0, zBytes, 0, 16);
        z = littleEndian(zBytes, 0, 16);
        if (z.signum() == 0) {
          z = BigInteger.ONE;
        }
      }
      b = b.add(z.multiply(s));
      // -[z]R and -[z h]A: subtracted, so that z keeps its 128 bits (half the additions of L - z).
      tables[1 + 2 * i] = table(r);
      digits[1 + 2 * i] = digits(z);
      subtract[1 + 2 * i] = true;
      tables[2 + 2 * i] = item.key().table;
      digits[2 + 2 * i] = digits(z.multiply(h).mod(L));
      subtract[2 + 2 * i] = true;
    }
    tables[0] = BASE_TABLE;
    digits[0] = digits(b.mod(L));
    Point q = straus(tables, digits, subtract);
    Scratch w = new Scratch();
    for (int i = 0; i < 3; i++) {
      q.dblInPlace(w); // times the cofactor
    }
    return q.isIdentity();
  }

  /**
   * sum +-[k_j]P_j (minus where {@code subtract[j]}), the k_j given as signed odd digits (at most
   * one non-zero in any W in a row).
   */
  private static Point straus(Cached[][] tables, byte[][] digits, boolean[] subtract) {
    int top = -1;
    for (byte[] d : digits) {
      for (int i = d.length - 1; i > top; i--) {
        if (d[i] != 0) {
          top = i;
          break;
        }
      }
    }
    Point q = Point.identity();
    Scratch w = new Scratch();
    for (int i = top; i >= 0; i--) {
      q.dblInPlace(w);
      for (int j = 0; j < tables.length; j++) {
        int d = subtract[j] ? -digits[j][i] : digits[j][i];
        if (d > 0) {
          q.addInPlace(tables[j][d >> 1], false, w);
        } else if (d < 0) {
          q.addInPlace(tables[j][(-d) >> 1], true, w);
        }
      }
    }
    return q;
  }

  /** The width-W non-adjacent form of a scalar below 2^253: digits odd, in -15..15, or zero. */
  static byte[] digits(BigInteger scalar) {
    long[] x = new long[5];
    byte[] le = toLittleEndian(scalar, 32);
    for (int i = 0; i < 32; i++) {
      x[i >> 3] |= (le[i] & 0xffL) << ((i & 7) * 8);
    }
    byte[] naf = new byte[257];
    int width = 1 << W;
    long mask = width - 1;
    long carry = 0;
    int pos = 0;
    while (pos < 257) {
      int idx = pos >> 6;
      int bit = pos & 63;
      long buf = bit < 64 - W ? x[idx] >>> bit : (x[idx] >>> bit) | (x[idx + 1] << (64 - bit));
      long window = carry + (buf & mask);
      if ((window & 1) == 0) {
        pos++;
        continue;
      }
      if (window < width / 2) {
        carry = 0;
        naf[pos] = (byte) window;
      } else {
        carry = 1;
        naf[pos] = (byte) (window - width);
      }
      pos += W;
    }
    return naf;
  }

  /** The odd multiples P, 3P, ..., (2 TABLE - 1)P, ready for additions. */
  private static Cached[] table(Point p) {
    Cached[] t = new Cached[TABLE];
    Cached twice = p.dbl().cached();
    Point acc = p.copy();
    Scratch w = new Scratch();
    t[0] = acc.cached();
    for (int i = 1; i < TABLE; i++) {
      acc.addInPlace(twice, false, w);
      t[i] = acc.cached();
    }
    return t;
  }

  /**
   * RFC 8032 5.1.3 decoding, refusing non-canonical encodings (y of p or more, or x = 0 with the
   * sign bit set); null if the bytes are not a point.
   */
  static Point decode(byte[] encoded) {
    if (encoded.length != 32) {
      return null;
    }
    byte[] yBytes = encoded.clone();
    int sign = (yBytes[31] & 0x80) >>> 7;
    yBytes[31] &= 0x7f;
    if (littleEndian(yBytes, 0, 32).compareTo(P) >= 0) {
      return null;
    }
    int[] y = X25519Field.create();
    X25519Field.decode(yBytes, 0, y);
    int[] u = X25519Field.create();
    int[] v = X25519Field.create();
    X25519Field.sqr(y, u);
    X25519Field.mul(D, u, v);
    X25519Field.subOne(u);
    X25519Field.addOne(v);
    int[] x = X25519Field.create();
    if (!X25519Field.sqrtRatioVar(u, v, x)) {
      return null;
    }
    X25519Field.normalize(x);
    if (X25519Field.isZeroVar(x) && sign == 1) {
      return null;
    }
    byte[] xBytes = new byte[32];
    X25519Field.encode(x, xBytes, 0);
    if ((xBytes[0] & 1) != sign) {
      X25519Field.negate(x, x);
      X25519Field.normalize(x);
    }
    Point p = new Point();
    X25519Field.copy(x, 0, p.x, 0);
    X25519Field.copy(y, 0, p.y, 0);
    X25519Field.one(p.z);
    X25519Field.mul(x, y, p.t);
    return p;
  }

  /** A point in extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z; a = -1. */
  static final class Point {
    final int[] x = X25519Field.create();
    final int[] y = X25519Field.create();
    final int[] z = X25519Field.create();
    final int[] t = X25519Field.create();

    static Point identity() {
      Point p = new Point();
      X25519Field.one(p.y);
      X25519Field.one(p.z);
      return p;
    }

    Point copy() {
      Point p = new Point();
      X25519Field.copy(x, 0, p.x, 0);
      X25519Field.copy(y, 0, p.y, 0);
      X25519Field.copy(z, 0, p.z, 0);
      X25519Field.copy(t, 0, p.t, 0);
      return p;
    }

    /** (Y + X, Y - X, 2Z, 2dT): what adding this point to another needs. */
    Cached cached() {
      Cached c = new Cached();
      X25519Field.add(y, x, c.yPlusX);
      X25519Field.carry(c.yPlusX);
      X25519Field.sub(y, x, c.yMinusX);
      X25519Field.carry(c.yMinusX);
      X25519Field.add(z, z, c.z2);
      X25519Field.carry(c.z2);
      X25519Field.mul(t, D2, c.t2d);
      return c;
    }

    /** this += q (or this -= q): the unified addition of Hisil, Wong, Carter and Dawson for a = -1. */
    void addInPlace(Cached q, boolean subtract) {
      addInPlace(q, subtract, new Scratch());
    }

    void addInPlace(Cached q, boolean subtract, Scratch w) {
      int[] a = w.a;
      int[] b = w.b;
      int[] c = w.c;
      int[] d = w.d;
      int[] s = w.e;
      X25519Field.sub(y, x, s);
      X25519Field.carry(s);
      X25519Field.mul(s, subtract ? q.yPlusX : q.yMinusX, a);
      X25519Field.add(y, x, s);
      X25519Field.carry(s);
      X25519Field.mul(s, subtract ? q.yMinusX : q.yPlusX, b);
      X25519Field.mul(t, q.t2d, c);
      if (subtract) {
        X25519Field.negate(c, c);
      }
      X25519Field.mul(z, q.z2, d);
      int[] e = w.e;
      int[] f = w.f;
      int[] g = w.g;
      int[] h = w.h;
      X25519Field.sub(b, a, e);
      X25519Field.carry(e);
      X25519Field.sub(d, c, f);
      X25519Field.carry(f);
      X25519Field.add(d, c, g);
      X25519Field.carry(g);
      X25519Field.add(b, a, h);
      X25519Field.carry(h);
      X25519Field.mul(e, f, x);
      X25519Field.mul(g, h, y);
      X25519Field.mul(e, h, t);
      X25519Field.mul(f, g, z);
    }

    /** 2 * this, as a new point. */
    Point dbl() {
      Point r = copy();
      r.dblInPlace(new Scratch());
      return r;
    }

    /** this = 2 * this (dbl-2008-hwcd, a = -1). */
    void dblInPlace(Scratch w) {
      int[] a = w.a;
      int[] b = w.b;
      int[] c = w.c;
      int[] e = w.e;
      X25519Field.sqr(x, a);
      X25519Field.sqr(y, b);
      X25519Field.sqr(z, c);
      X25519Field.add(c, c, c);
      X25519Field.carry(c);
      X25519Field.add(x, y, e);
      X25519Field.carry(e);
      X25519Field.sqr(e, e);
      X25519Field.sub(e, a, e);
      X25519Field.sub(e, b, e);
      X25519Field.carry(e); // E = 2XY
      int[] g = w.g;
      int[] f = w.f;
      int[] h = w.h;
      X25519Field.sub(b, a, g); // G = -A + B
      X25519Field.carry(g);
      X25519Field.sub(g, c, f); // F = G - C
      X25519Field.carry(f);
      X25519Field.add(a, b, h);
      X25519Field.negate(h, h); // H = -A - B
      X25519Field.carry(h);
      X25519Field.mul(e, f, x);
      X25519Field.mul(g, h, y);
      X25519Field.mul(e, h, t);
      X25519Field.mul(f, g, z);
    }

    boolean isIdentity() {
      int[] xn = X25519Field.create();
      X25519Field.copy(x, 0, xn, 0);
      X25519Field.normalize(xn);
      int[] diff = X25519Field.create();
      X25519Field.sub(y, z, diff);
      X25519Field.carry(diff);
      X25519Field.normalize(diff);
      return X25519Field.isZeroVar(xn) && X25519Field.isZeroVar(diff) && !zIsZero();
    }

    private boolean zIsZero() {
      int[] zn = X25519Field.create();
      X25519Field.copy(z, 0, zn, 0);
      X25519Field.normalize(zn);
      return X25519Field.isZeroVar(zn);
    }

    /** The RFC 8032 encoding (for tests). */
    byte[] encode() {
      int[] zi = X25519Field.create();
      X25519Field.inv(z, zi);
      int[] xa = X25519Field.create();
      int[] ya = X25519Field.create();
      X25519Field.mul(x, zi, xa);
      X25519Field.mul(y, zi, ya);
      X25519Field.normalize(xa);
      X25519Field.normalize(ya);
      byte[] out = new byte[32];
      byte[] xb = new byte[32];
      X25519Field.encode(ya, out, 0);
      X25519Field.encode(xa, xb, 0);
      out[31] |= (byte) ((xb[0] & 1) << 7);
      return out;
    }
  }

  /** Temporaries of one thread's point operations, so that a multiplication allocates nothing. */
  static final class Scratch {
    final int[] a = X25519Field.create();
    final int[] b = X25519Field.create();
    final int[] c = X25519Field.create();
    final int[] d = X25519Field.create();
    final int[] e = X25519Field.create();
    final int[] f = X25519Field.create();
    final int[] g = X25519Field.create();
    final int[] h = X25519Field.create();
  }

  /** A point prepared for additions. */
  static final class Cached {
    final int[] yPlusX = X25519Field.create();
    final int[] yMinusX = X25519Field.create();
    final int[] z2 = X25519Field.create();
    final int[] t2d = X25519Field.create();
  }

  /** [scalar]P for tests: the same ladder the batch uses. */
  static Point multiply(Point p, BigInteger scalar) {
    return straus(new Cached[][] {table(p)}, new byte[][] {digits(scalar.mod(L))}, new boolean[1]);
  }

  static Point basePoint() {
    byte[] b = new byte[32];
    b[0] = 0x58;
    Arrays.fill(b, 1, 32, (byte) 0x66);
    return decode(b);
  }

  private static int[] fieldOf(BigInteger v) {
    int[] f = X25519Field.create();
    X25519Field.decode(toLittleEndian(v, 32), 0, f);
    return f;
  }

  static BigInteger littleEndian(byte[] bytes, int offset, int length) {
    byte[] be = new byte[length + 1];
    for (int i = 0; i < length; i++) {
      be[length - i] = bytes[offset + i];
    }
    return new BigInteger(be);
  }

  static byte[] toLittleEndian(BigInteger v, int length) {
    byte[] be = v.toByteArray();
    byte[] le = new byte[length];
    for (int i = 0; i < be.length && i < length; i++) {
      le[i] = be[be.length - 1 - i];
    }
    return le;
  }

  static BigInteger order() {
    return L;
  }

  private static byte[] intBytes(int v) {
    return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
  }

  private static MessageDigest sha512() {
    try {
      return MessageDigest.getInstance("SHA-512");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
