import { pathToFileURL } from 'node:url';

/** Runs `bench` and prints its figures as JSON when the module is the command's entry point. */
export function runWhenMain(moduleUrl: string, bench: () => Promise<unknown>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  bench()
    .then((result) => console.log(JSON.stringify(result, null, 2)))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
