// file(path): a config source from a JSON file, re-read when it changes (Node only; the browser
// entry must not reach node: modules, so this lives apart from config.ts).
import { readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { NitroError } from './errors.js';
import { isObject, type ConfigObject, type ConfigSource } from './config.js';

/** A JSON file holding an object, re-read whenever it changes (Node). A missing file is empty. */
export function file(path: string): ConfigSource {
  return {
    kind: 'file',
    async open(context) {
      const read = (): ConfigObject => {
        let text: string;
        try {
          text = readFileSync(path, 'utf8');
        } catch (e) {
          if ((e as { code?: string }).code === 'ENOENT') return {};
          throw e;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          throw new NitroError('INVALID_ARGUMENT', `config file ${path}: ${(e as Error).message}`);
        }
        if (!isObject(parsed)) throw new NitroError('INVALID_ARGUMENT', `config file ${path}: not a JSON object`);
        return parsed;
      };
      // Watch the directory: editors and atomic writers replace the file by a rename.
      const name = basename(path);
      const watcher = watch(dirname(path), (_event, changed) => {
        if (!changed || changed.toString() === name) context.changed();
      });
      watcher.unref?.();
      return { read, close: () => watcher.close() };
    },
  };
}

