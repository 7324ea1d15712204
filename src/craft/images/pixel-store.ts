/**
 * Each image's resized pixels (h·w·3 bytes, the image exactly as the model sees it) kept between the
 * passes in one scratch file, image i at offset i·h·w·3: the second pass, the top crops and the
 * thumbnails read them back without PNG decoding, and memory does not grow with the number of images.
 */
import * as fs from 'fs';

export class PixelStore {
  private constructor(
    private readonly handle: fs.promises.FileHandle,
    readonly file: string,
    /** Bytes per image. */
    readonly size: number,
  ) {}

  /** Creates (or truncates) the scratch file. */
  static async create(file: string, width: number, height: number): Promise<PixelStore> {
    return new PixelStore(await fs.promises.open(file, 'w+'), file, width * height * 3);
  }

  async write(index: number, rgb: Uint8Array): Promise<void> {
    if (rgb.length !== this.size) throw new RangeError(`PixelStore: ${rgb.length} bytes for image ${index}, expected ${this.size}`);
    await this.handle.write(rgb, 0, rgb.length, index * this.size);
  }

  async read(index: number): Promise<Uint8Array> {
    const out = new Uint8Array(this.size);
    const { bytesRead } = await this.handle.read(out, 0, this.size, index * this.size);
    if (bytesRead !== this.size) throw new Error(`The run's scratch file ${this.file} holds no pixels for image ${index}.`);
    return out;
  }

  /** Closes and deletes the scratch file; safe to call twice. */
  async dispose(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fs.promises.rm(this.file, { force: true });
  }
}
