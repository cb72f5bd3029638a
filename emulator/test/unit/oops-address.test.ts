// An oops's module addresses as data, and faddr2line's answer for one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editCommand, moduleAddressOf, parseFaddr2line } from '../../src/oops-address.ts';

test("the RIP line and call-trace lines of an oops in a module name the module's function offset", () => {
  assert.deepEqual(moduleAddressOf('[   41.902113] RIP: 0010:null_write+0x5/0x10 [lab_crash]'), {
    module: 'lab_crash',
    symbolOffset: 'null_write+0x5/0x10',
  });
  assert.deepEqual(moduleAddressOf('[   41.93] ? far_ioctl+0x1c/0x90 [farfetch_p3]'), {
    module: 'farfetch_p3',
    symbolOffset: 'far_ioctl+0x1c/0x90',
  });
  assert.deepEqual(moduleAddressOf(' full_proxy_write+0x54/0x80 [my-mod]'), {
    module: 'my-mod',
    symbolOffset: 'full_proxy_write+0x54/0x80',
  });
});

test("the core kernel's frames, and lines that only mention a module, are not module addresses", () => {
  assert.equal(moduleAddressOf('[   41.93]  vfs_write+0xf2/0x410'), null);
  assert.equal(moduleAddressOf('[   41.93] RIP: 0010:vfs_write+0xf2/0x410'), null);
  assert.equal(moduleAddressOf('[   41.93] Modules linked in: lab_crash [last unloaded: farfetch_p3]'), null);
  assert.equal(moduleAddressOf('[   41.93] Code: 48 89 e5 c7 00 01 00 00 00 [lab_crash]'), null);
  assert.equal(moduleAddressOf('echo null_write+0x5/0x10 [lab_crash] said the student'), null);
});

test("faddr2line's first line is where the instruction is; a relative path is the .ko's folder's", () => {
  const ko = '/root/work/crash-module/lab_crash.ko';
  assert.deepEqual(
    parseFaddr2line('null_write+0x5/0x10:\nnull_write at /root/work/crash-module/lab_crash.c:24\n', ko),
    { function: 'null_write', file: '/root/work/crash-module/lab_crash.c', line: 24, ko },
  );
  assert.deepEqual(
    parseFaddr2line(
      'far_read+0x9/0x40:\ncopy_out at ./farfetch.h:12 (discriminator 1)\n (inlined by) far_read at farfetch.c:80\n',
      '/lib/modules/6.12.57/extra/farfetch_p3.ko',
    ),
    {
      function: 'copy_out',
      file: '/lib/modules/6.12.57/extra/farfetch.h',
      line: 12,
      ko: '/lib/modules/6.12.57/extra/farfetch_p3.ko',
    },
  );
  // Built without debug info: addr2line knows the function but no line.
  assert.equal(parseFaddr2line('null_write+0x5/0x10:\nnull_write at ??:0\n', ko), null);
  assert.equal(parseFaddr2line('', ko), null);
});

test('the command pasted for a location opens the file at the line, and has no newline (never run)', () => {
  assert.equal(
    editCommand({
      function: 'null_write',
      file: '/root/work/m/lab_crash.c',
      line: 24,
      ko: '/root/work/m/lab_crash.ko',
    }),
    'nano +24 /root/work/m/lab_crash.c',
  );
});
