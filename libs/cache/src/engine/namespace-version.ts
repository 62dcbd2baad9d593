/** One attempt to agree with Redis on the version (see `NamespaceVersion.startSync`). */
export interface VersionSync {
  /** It pushes bumps made here (a fresh generation in Redis), rather than only learning Redis's version. */
  readonly pushing: boolean;
  /** The namespace's write sequence when it began: a pushed generation comes after those writes. */
  readonly before: number;
  readonly bumps: number;
  readonly epoch: number;
}

/**
 * A namespace's generation (the version its L2 keys carry) and how far this process agrees with
 * Redis on it. Versions only grow (announcements can arrive out of order). The version is agreed
 * with Redis once it has been learnt from Redis, again after every moment announcements may have
 * been missed (`mayBeStale`: a reconnect), and while no bump made here (an invalidateAll that did
 * not reach Redis) waits for its push. Whether the bus is up is the namespace's to add.
 */
export class NamespaceVersion {
  private value = 0;
  /** Moments announcements may have been missed, and the last one after which the version was learnt. */
  private epoch = 1;
  private syncedEpoch = 0;
  private localBumps = 0;
  private pushedBumps = 0;
  /** While bumps are being pushed: the last write sequence their generation comes after. */
  private pushCovers: number | null = null;
  /** A version whose announcement failed, to announce again. */
  private unannounced: number | null = null;

  get current(): number {
    return this.value;
  }

  /** Learnt from Redis since announcements were last possibly missed, and no bump made here waits. */
  get agreedWithRedis(): boolean {
    return this.syncedEpoch === this.epoch && !this.bumpWaiting;
  }

  /** A bump made here has not reached Redis yet. */
  get bumpWaiting(): boolean {
    return this.localBumps !== this.pushedBumps;
  }

  get announcementWaiting(): boolean {
    return this.unannounced !== null;
  }

  /** Something of the version waits to be told to Redis or the bus (it counts as one pending write). */
  get waiting(): boolean {
    return this.bumpWaiting || this.announcementWaiting;
  }

  /** Announcements may have been missed (a reconnect): the version is to be learnt again. */
  mayBeStale(): void {
    this.epoch++;
  }

  /** Takes `version` if it is above ours; true if it did. */
  adopt(version: number): boolean {
    if (version <= this.value) return false;
    this.value = version;
    return true;
  }

  /** An invalidateAll Redis has not seen: the next generation here, to push. */
  bump(): void {
    this.value++;
    this.localBumps++;
  }

  /**
   * Whether a write (of this sequence) that did not reach Redis is covered by a bump waiting for
   * its push: the pushed generation comes after every write made before the push began.
   */
  covers(sequence: number): boolean {
    return this.bumpWaiting && (this.pushCovers === null || sequence <= this.pushCovers);
  }

  /** Begins an attempt to agree with Redis; `sequence` is the namespace's write sequence now. */
  startSync(sequence: number): VersionSync {
    const sync: VersionSync = { pushing: this.bumpWaiting, before: sequence, bumps: this.localBumps, epoch: this.epoch };
    if (sync.pushing) this.pushCovers = sequence;
    return sync;
  }

  /** Redis did not answer the attempt. */
  syncFailed(sync: VersionSync): void {
    if (sync.pushing) this.pushCovers = null;
  }

  /**
   * Redis answered the attempt with its version (`remote`, adopted by the caller after this): the
   * bumps it carried are pushed and their generation is to be announced; so is ours when Redis now
   * holds it, which may be because it lost the counter (restarted empty) and a process that missed
   * ours raised it to its own lower one first: that process must hear ours.
   */
  synced(sync: VersionSync, remote: number): void {
    if (sync.pushing) {
      this.pushCovers = null;
      this.pushedBumps = sync.bumps;
      this.announceLater(remote);
    } else if (remote === this.value && remote > 0) {
      this.announceLater(remote);
    }
    if (sync.epoch === this.epoch) this.syncedEpoch = sync.epoch;
  }

  /** `version` was announced: an earlier one waiting for its announcement no longer needs it. */
  announced(version: number): void {
    if (this.unannounced !== null && this.unannounced <= version) this.unannounced = null;
  }

  /** `version` could not be announced: it waits for the replay. */
  announceLater(version: number): void {
    this.unannounced = Math.max(this.unannounced ?? 0, version);
  }
}
