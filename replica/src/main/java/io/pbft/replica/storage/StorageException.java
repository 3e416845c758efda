package io.pbft.replica.storage;

/**
 * Local storage cannot do what was asked: a disk that is full or failing, a data directory that
 * is locked or belongs to another replica. Unchecked because no caller can do more than report it
 * and stop; the message says which file or directory and why.
 */
public class StorageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
