// Debian's Chromium through playwright-core (nothing downloads a browser here). The flags keep it
// from opening connections of its own that this closed network refuses; as root it needs
// --no-sandbox. CHROMIUM_PATH overrides where it is.
import { execFileSync } from 'node:child_process'
import { type Browser, chromium } from 'playwright-core'

export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH
  return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim()
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
