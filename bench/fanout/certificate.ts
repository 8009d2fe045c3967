/** One self-signed ECDSA certificate that every lightweight receiver of a process presents in DTLS. */
import { X509Certificate } from 'node:crypto';
import { CipherContext, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm } from 'werift';

export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  signatureHash: { hash: typeof HashAlgorithm.sha256_4; signature: typeof SignatureAlgorithm.ecdsa_3 };
  /** SHA-256 fingerprint as mediasoup wants it in dtlsParameters ("AB:CD:…"). */
  fingerprint: string;
}

export async function createCertificate(): Promise<DtlsCertificate> {
  const signatureHash = { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 } as const;
  const { certPem, keyPem } = await CipherContext.createSelfSignedCertificateWithKey(signatureHash, NamedCurveAlgorithm.secp256r1_23);
  return { certPem, keyPem, signatureHash, fingerprint: new X509Certificate(certPem).fingerprint256 };
}
