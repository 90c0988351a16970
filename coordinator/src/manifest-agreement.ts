/**
 * The federation's adapter manifest: pinned by the config (model.manifestSha256), or adopted from the first
 * authenticated participant (trust on first use). Every later participant must present the same manifest.
 */
import { FedwardenError, manifestHash, type AdapterManifest } from '@fedwarden/shared';

export class ManifestAgreement {
  private agreed: { manifest: AdapterManifest; digest: string } | undefined;

  constructor(private readonly pinnedSha256: string | undefined) {}

  get manifest(): AdapterManifest | undefined {
    return this.agreed?.manifest;
  }

  /**
   * Check a participant's manifest; returns it with its digest when it is the first one accepted (the caller
   * then initialises the global adapter), undefined when it matches the agreed one. Throws MANIFEST_MISMATCH.
   */
  accept(manifest: AdapterManifest): { manifest: AdapterManifest; digest: string } | undefined {
    const digest = manifestHash(manifest);
    if (this.pinnedSha256 !== undefined && digest !== this.pinnedSha256) {
      throw new FedwardenError('MANIFEST_MISMATCH', `manifest ${digest.slice(0, 16)}… is not the configured one`);
    }
    if (this.agreed === undefined) {
      this.agreed = { manifest, digest };
      return this.agreed;
    }
    if (digest !== this.agreed.digest) {
      throw new FedwardenError('MANIFEST_MISMATCH', `manifest ${digest.slice(0, 16)}… differs from the federation's`);
    }
    return undefined;
  }
}
