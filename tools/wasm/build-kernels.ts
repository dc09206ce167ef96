/**
 * `npm run build:wasm`: assembles the sparse kernels' text (csr-kernels.wat) and writes the binary into
 * csr-kernels-binary.ts, which is committed. Run it after editing the .wat file.
 */
import fs from 'node:fs';
import { KERNELS_BINARY_TS, binaryModuleText, compileKernels } from './compile-kernels';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(
      'Usage: npm run build:wasm\n\nAssembles shared/core/numeric/wasm/csr-kernels.wat into csr-kernels-binary.ts.\n',
    );
    return;
  }
  const binary = await compileKernels();
  fs.writeFileSync(KERNELS_BINARY_TS, binaryModuleText(binary));
  process.stdout.write(`wrote ${KERNELS_BINARY_TS} (${binary.length} bytes of WebAssembly)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`build:wasm: ${(err as Error).message}\n`);
  process.exit(1);
});
