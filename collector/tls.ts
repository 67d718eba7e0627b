// The collector's own certificate (`collector.tls`), read once at start. Every failure names the
// file and is a configuration error, so `vagt collector` exits 2 with one line.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { VagtError, errorMessage, fileErrorMessage } from '../lib/errors.js';

export interface TlsFiles {
  cert_file: string;
  key_file: string;
}

export function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const cert = readPem('collector.tls.cert_file', files.cert_file);
  const key = readPem('collector.tls.key_file', files.key_file);
  try {
    // Parses both and checks that the key belongs to the certificate, before anything listens.
    createSecureContext({ cert, key });
  } catch (err) {
    throw new VagtError(
      'VAGT_ERR_CONFIG',
      `collector.tls: cannot use the certificate ${files.cert_file} with the key ${files.key_file}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  return { cert, key };
}

function readPem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new VagtError('VAGT_ERR_CONFIG', `${key}: cannot read ${path}: ${fileErrorMessage(err)}`, { cause: err });
  }
}
