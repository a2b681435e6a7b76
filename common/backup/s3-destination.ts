/**
 * A backup destination in S3-compatible object storage, through the AWS SDK
 * for JavaScript v3: custom endpoint and path-style addressing for
 * S3-compatible servers, region, credentials (given, or the SDK's default
 * chain). Large streamed objects go up as multipart uploads
 * (@aws-sdk/lib-storage); an object becomes visible only once its upload
 * completes, so a reader never sees half of one.
 */
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, NotFound, S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BackupObjectMissing, checkObjectKey, type BackupDestination, type ObjectInfo } from './destination.js';
import type { S3Options } from './destination-url.js';

const CONNECT_TIMEOUT_MS = 5_000;
/** A socket with no traffic this long fails its request. */
const IDLE_TIMEOUT_MS = 60_000;
/** Multipart part size: the S3 minimum is 5 MiB. */
const PART_BYTES = 8 * 1024 * 1024;

export class S3Destination implements BackupDestination {
  readonly description: string;
  private readonly client: S3Client;

  constructor(private readonly bucket: string, private readonly prefix: string, opts: S3Options) {
    this.description = `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
    this.client = new S3Client({
      region: opts.region ?? 'us-east-1',
      ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? false,
      ...(opts.credentials !== undefined ? { credentials: opts.credentials } : opts.credentialsProvider !== undefined ? { credentials: opts.credentialsProvider } : {}),
      // Bounded: a dead or stopped server fails the request (the caller retries) instead of hanging it.
      maxAttempts: 3,
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: IDLE_TIMEOUT_MS },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private objectKey(key: string): string {
    return this.prefix === '' ? checkObjectKey(key) : `${this.prefix}/${checkObjectKey(key)}`;
  }

  async put(key: string, body: Buffer | Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: body },
      partSize: PART_BYTES,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async get(key: string): Promise<Buffer> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      if (res.Body === undefined) throw new BackupObjectMissing(this.description, key);
      return Buffer.from(await res.Body.transformToByteArray());
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') throw new BackupObjectMissing(this.description, key);
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, size: res.ContentLength ?? 0 };
    } catch (err) {
      if (err instanceof NotFound || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const base = this.prefix === '' ? '' : `${this.prefix}/`;
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res: ListObjectsV2CommandOutput = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) {
        if (o.Key !== undefined && o.Key.startsWith(base)) out.push({ key: o.Key.slice(base.length), size: o.Size ?? 0 });
      }
      token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  close(): void {
    this.client.destroy();
  }
}
