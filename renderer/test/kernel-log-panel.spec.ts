// The Kernel log tab (vitest + happy-dom): an oops line in a module gets its file:line from the
// backend's resolveKernelAddress, asked once per address; clicking it pastes `nano +LINE FILE`
// (no newline: never run); a module without debug info, or a query that failed, is said.
import { flushPromises, mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { LabApi, SourceLocation } from '../../emulator/src/api.ts';
import KernelLogPanel from '../src/components/KernelLogPanel.vue';
import { useKernelLog } from '../src/composables/useKernelLog.ts';

const LOG = [
  '[   41.90] BUG: kernel NULL pointer dereference, address: 0000000000000000',
  '[   41.90] RIP: 0010:null_write+0x5/0x10 [lab_crash]',
  '[   41.91] Call Trace:',
  '[   41.91]  null_write+0x5/0x10 [lab_crash]',
  '[   41.91]  far_read+0x9/0x40 [farfetch_p3]',
  '[   41.91]  helper+0x1/0x8 [gone]',
  '[   41.91]  vfs_write+0xf2/0x410',
  '',
].join('\r\n');

function fakeApi() {
  const asked: string[] = [];
  const api = {
    kernelLog: async () => LOG,
    resolveKernelAddress: async (module: string, symbolOffset: string): Promise<SourceLocation | null> => {
      asked.push(`${module} ${symbolOffset}`);
      if (module === 'gone') throw new Error('no gone.ko under /root or in /lib/modules');
      if (module === 'farfetch_p3') return null;
      return {
        function: 'null_write',
        file: '/root/lab_crash/lab_crash.c',
        line: 24,
        ko: '/root/lab_crash/lab_crash.ko',
      };
    },
  } as Partial<LabApi> as LabApi;
  return { api, asked };
}

describe('KernelLogPanel', () => {
  it("shows a module line's file:line, asks once per address, and pastes nano +LINE FILE on a click", async () => {
    const { api, asked } = fakeApi();
    const log = useKernelLog(api);
    const w = mount(KernelLogPanel, { props: { log } });
    await flushPromises();
    await flushPromises();
    expect(asked).toEqual([
      'lab_crash null_write+0x5/0x10',
      'farfetch_p3 far_read+0x9/0x40',
      'gone helper+0x1/0x8',
    ]);
    const lines = w.findAll('.line');
    expect(lines.map((l) => l.find('span').text())).toEqual(LOG.split('\r\n').slice(0, -1));
    const sources = w.findAll('[data-testid=oops-source]').map((s) => s.text());
    expect(sources).toEqual([
      '→ /root/lab_crash/lab_crash.c:24',
      '→ /root/lab_crash/lab_crash.c:24',
      '→ no line (farfetch_p3.ko has no debug info)',
      '→ no gone.ko under /root or in /lib/modules',
    ]);
    expect(lines[6]!.find('[data-testid=oops-source]').exists()).toBe(false);
    await lines[1]!.get('button').trigger('click');
    expect(w.emitted('paste')).toEqual([['nano +24 /root/lab_crash/lab_crash.c']]);
    log.follow(false);
  });
});
