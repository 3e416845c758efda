package io.pbft.docker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.Checksum;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.testcontainers.images.builder.Transferable;

/** A file copied into a container with a given owner and mode (a key readable by the replica only). */
record OwnedFile(byte[] bytes, int mode, int uid) implements Transferable {
  @Override
  public long getSize() {
    return bytes.length;
  }

  @Override
  public byte[] getBytes() {
    return bytes;
  }

  @Override
  public int getFileMode() {
    return mode;
  }

  @Override
  public String getDescription() {
    return "key file (" + bytes.length + " bytes, uid " + uid + ")";
  }

  @Override
  public void updateChecksum(Checksum checksum) {
    checksum.update(bytes, 0, bytes.length);
  }

  @Override
  public void transferTo(TarArchiveOutputStream tar, String destination) {
    TarArchiveEntry entry = new TarArchiveEntry(destination);
    entry.setSize(bytes.length);
    entry.setMode(TarArchiveEntry.DEFAULT_FILE_MODE & ~0777 | mode);
    entry.setUserId(uid);
    entry.setGroupId(uid);
    try {
      tar.putArchiveEntry(entry);
      tar.write(bytes);
      tar.closeArchiveEntry();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy a key file into the container", e);
    }
  }
}
