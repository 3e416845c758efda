package io.pbft.replica.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A file channel that fails like a full or dying disk, for fault-injection tests of the log and
 * of replicas built on it ({@link WriteAheadLog.Options#withOpener}): writes succeed until a
 * byte budget is spent, the write that crosses it lands partly and throws "No space left on
 * device", and from then on every write, fsync and truncate throws. With {@code failForce} the
 * first fsync fails instead. It also counts fsyncs, so tests can check group commit.
 */
public final class FaultInjectingChannel extends FileChannel {
  private final FileChannel delegate;
  private long writeBudget;
  private boolean failForce;
  private boolean dead;
  private int forces;

  public FaultInjectingChannel(FileChannel delegate, long writeBudget, boolean failForce) {
    this.delegate = delegate;
    this.writeBudget = writeBudget;
    this.failForce = failForce;
  }

  /** Successful fsyncs so far. */
  public int forces() {
    return forces;
  }

  private IOException died(String what) {
    dead = true;
    return new IOException(what);
  }

  private void checkAlive() throws IOException {
    if (dead) {
      throw new IOException("Input/output error");
    }
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    return (int) write(new ByteBuffer[] {src}, 0, 1);
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    checkAlive();
    long requested = 0;
    for (int i = offset; i < offset + length; i++) {
      requested += srcs[i].remaining();
    }
    if (requested <= writeBudget) {
      long written = delegate.write(srcs, offset, length);
      writeBudget -= written;
      return written;
    }
    // Land what the budget allows (part of a frame, typically), then fail.
    for (int i = offset; i < offset + length && writeBudget > 0; i++) {
      ByteBuffer part = srcs[i].duplicate();
      part.limit(part.position() + (int) Math.min(part.remaining(), writeBudget));
      writeBudget -= delegate.write(part);
    }
    throw died("No space left on device");
  }

  @Override
  public void force(boolean metaData) throws IOException {
    checkAlive();
    if (failForce) {
      throw died("Input/output error");
    }
    forces++;
    delegate.force(metaData);
  }

  @Override
  public FileChannel truncate(long size) throws IOException {
    checkAlive();
    delegate.truncate(size);
    return this;
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    return delegate.read(dst);
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    return delegate.read(dsts, offset, length);
  }

  @Override
  public long position() throws IOException {
    return delegate.position();
  }

  @Override
  public FileChannel position(long newPosition) throws IOException {
    delegate.position(newPosition);
    return this;
  }

  @Override
  public long size() throws IOException {
    return delegate.size();
  }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
    return delegate.transferTo(position, count, target);
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
    throw new UnsupportedOperationException("not used by the log");
  }

  @Override
  public int read(ByteBuffer dst, long position) throws IOException {
    return delegate.read(dst, position);
  }

  @Override
  public int write(ByteBuffer src, long position) throws IOException {
    throw new UnsupportedOperationException("not used by the log");
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
    return delegate.map(mode, position, size);
  }

  @Override
  public FileLock lock(long position, long size, boolean shared) throws IOException {
    return delegate.lock(position, size, shared);
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) throws IOException {
    return delegate.tryLock(position, size, shared);
  }

  @Override
  protected void implCloseChannel() throws IOException {
    delegate.close();
  }
}
