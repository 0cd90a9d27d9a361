"""The feature bit table: every CPUID and MSR feature bit the knowledge base knows.

The one reliable key of a feature is its location: (leaf, subleaf, register, bit) for CPUID, or
(MSR index, bit).  Names differ between Linux ``/proc/cpuinfo``, QEMU and libvirt, so each entry
carries its name in each vocabulary (``-`` where that vocabulary has none).  Canonical display
names are the Linux ones; where Linux has none, the QEMU name with ``-`` turned into ``_``, then
libvirt's.

Sources of the bit positions: libvirt 9.0 ``cpu_map/x86_features.xml`` (bundled in ``data/`` and
checked bit by bit in the tests), QEMU ``target/i386/cpu.c`` ``feature_word_info`` (QEMU 7.2's
names are checked against a real ``query-cpu-model-expansion`` reply), Linux
``arch/x86/include/asm/cpufeatures.h``, and the Intel SDM / AMD APM.

Columns of ``_TABLE``:
  location  ``LEAF.SUBLEAF.REG`` or ``msr:INDEX``
  bit       bit number in that register / MSR
  linux     ``/proc/cpuinfo`` name; a leading ``!`` marks a real bit Linux never shows
  qemu      QEMU name (7.2, plus later names where QEMU added them)
  libvirt   libvirt 9.0 name
  flags     vendor (``both``/``intel``/``amd``/``via``), then optional kind and migration flags:
            ``os``          OS-dependent state (OSXSAVE, OSPKE), never a CPU feature
            ``hypervisor``  the "running under a hypervisor" bit: it says where the dump was
                            taken, not what the CPU can do
            ``host``        power/monitoring bits a hypervisor never passes to guests
            ``nomig``       cannot be live-migrated (libvirt ``migratable='no'``)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from .vocabulary import CANONICAL, VOCABULARIES

REGISTERS = ("eax", "ebx", "ecx", "edx")

_TABLE = """\
# location        bit  linux                 qemu                      libvirt               flags
0x1.0.ecx          0  pni                   pni                       pni                   both
0x1.0.ecx          1  pclmulqdq             pclmulqdq                 pclmuldq              both
0x1.0.ecx          2  dtes64                dtes64                    dtes64                intel
0x1.0.ecx          3  monitor               monitor                   monitor               both
0x1.0.ecx          4  ds_cpl                ds-cpl                    ds_cpl                intel
0x1.0.ecx          5  vmx                   vmx                       vmx                   intel
0x1.0.ecx          6  smx                   smx                       smx                   intel
0x1.0.ecx          7  est                   est                       est                   intel
0x1.0.ecx          8  tm2                   tm2                       tm2                   intel
0x1.0.ecx          9  ssse3                 ssse3                     ssse3                 both
0x1.0.ecx         10  cid                   cid                       cid                   intel
0x1.0.ecx         11  sdbg                  -                         -                     intel
0x1.0.ecx         12  fma                   fma                       fma                   both
0x1.0.ecx         13  cx16                  cx16                      cx16                  both
0x1.0.ecx         14  xtpr                  xtpr                      xtpr                  intel
0x1.0.ecx         15  pdcm                  pdcm                      pdcm                  intel
0x1.0.ecx         17  pcid                  pcid                      pcid                  both
0x1.0.ecx         18  dca                   dca                       dca                   intel
0x1.0.ecx         19  sse4_1                sse4.1                    sse4.1                both
0x1.0.ecx         20  sse4_2                sse4.2                    sse4.2                both
0x1.0.ecx         21  x2apic                x2apic                    x2apic                both
0x1.0.ecx         22  movbe                 movbe                     movbe                 both
0x1.0.ecx         23  popcnt                popcnt                    popcnt                both
0x1.0.ecx         24  tsc_deadline_timer    tsc-deadline              tsc-deadline          both
0x1.0.ecx         25  aes                   aes                       aes                   both
0x1.0.ecx         26  xsave                 xsave                     xsave                 both
0x1.0.ecx         27  !osxsave              -                         osxsave               both,os
0x1.0.ecx         28  avx                   avx                       avx                   both
0x1.0.ecx         29  f16c                  f16c                      f16c                  both
0x1.0.ecx         30  rdrand                rdrand                    rdrand                both
0x1.0.ecx         31  hypervisor            hypervisor                hypervisor            both,hypervisor
0x1.0.edx          0  fpu                   fpu                       fpu                   both
0x1.0.edx          1  vme                   vme                       vme                   both
0x1.0.edx          2  de                    de                        de                    both
0x1.0.edx          3  pse                   pse                       pse                   both
0x1.0.edx          4  tsc                   tsc                       tsc                   both
0x1.0.edx          5  msr                   msr                       msr                   both
0x1.0.edx          6  pae                   pae                       pae                   both
0x1.0.edx          7  mce                   mce                       mce                   both
0x1.0.edx          8  cx8                   cx8                       cx8                   both
0x1.0.edx          9  apic                  apic                      apic                  both
0x1.0.edx         11  sep                   sep                       sep                   both
0x1.0.edx         12  mtrr                  mtrr                      mtrr                  both
0x1.0.edx         13  pge                   pge                       pge                   both
0x1.0.edx         14  mca                   mca                       mca                   both
0x1.0.edx         15  cmov                  cmov                      cmov                  both
0x1.0.edx         16  pat                   pat                       pat                   both
0x1.0.edx         17  pse36                 pse36                     pse36                 both
0x1.0.edx         18  pn                    pn                        pn                    intel
0x1.0.edx         19  clflush               clflush                   clflush               both
0x1.0.edx         21  dts                   ds                        ds                    intel
0x1.0.edx         22  acpi                  acpi                      acpi                  intel
0x1.0.edx         23  mmx                   mmx                       mmx                   both
0x1.0.edx         24  fxsr                  fxsr                      fxsr                  both
0x1.0.edx         25  sse                   sse                       sse                   both
0x1.0.edx         26  sse2                  sse2                      sse2                  both
0x1.0.edx         27  ss                    ss                        ss                    intel
0x1.0.edx         28  ht                    ht                        ht                    both
0x1.0.edx         29  tm                    tm                        tm                    intel
0x1.0.edx         30  ia64                  ia64                      ia64                  intel
0x1.0.edx         31  pbe                   pbe                       pbe                   intel
0x6.0.eax          0  dtherm                -                         -                     intel,host
0x6.0.eax          1  ida                   -                         -                     intel,host
0x6.0.eax          2  arat                  arat                      arat                  both
0x6.0.eax          4  pln                   -                         -                     intel,host
0x6.0.eax          6  pts                   -                         -                     intel,host
0x6.0.eax          7  hwp                   -                         -                     intel,host
0x6.0.eax          8  hwp_notify            -                         -                     intel,host
0x6.0.eax          9  hwp_act_window        -                         -                     intel,host
0x6.0.eax         10  hwp_epp               -                         -                     intel,host
0x6.0.eax         11  hwp_pkg_req           -                         -                     intel,host
0x6.0.eax         19  hfi                   -                         -                     intel,host
0x7.0.ebx          0  fsgsbase              fsgsbase                  fsgsbase              both
0x7.0.ebx          1  tsc_adjust            tsc-adjust                tsc_adjust            both
0x7.0.ebx          2  sgx                   sgx                       sgx                   intel
0x7.0.ebx          3  bmi1                  bmi1                      bmi1                  both
0x7.0.ebx          4  hle                   hle                       hle                   intel
0x7.0.ebx          5  avx2                  avx2                      avx2                  both
0x7.0.ebx          6  !fdp_excptn_only      fdp-excptn-only           -                     both
0x7.0.ebx          7  smep                  smep                      smep                  both
0x7.0.ebx          8  bmi2                  bmi2                      bmi2                  both
0x7.0.ebx          9  erms                  erms                      erms                  both
0x7.0.ebx         10  invpcid               invpcid                   invpcid               both
0x7.0.ebx         11  rtm                   rtm                       rtm                   intel
0x7.0.ebx         12  cqm                   -                         cmt                   both
0x7.0.ebx         13  !zero_fcs_fds         zero-fcs-fds              -                     both
0x7.0.ebx         14  mpx                   mpx                       mpx                   intel
0x7.0.ebx         15  rdt_a                 -                         -                     both
0x7.0.ebx         16  avx512f               avx512f                   avx512f               both
0x7.0.ebx         17  avx512dq              avx512dq                  avx512dq              both
0x7.0.ebx         18  rdseed                rdseed                    rdseed                both
0x7.0.ebx         19  adx                   adx                       adx                   both
0x7.0.ebx         20  smap                  smap                      smap                  both
0x7.0.ebx         21  avx512ifma            avx512ifma                avx512ifma            both
0x7.0.ebx         22  -                     pcommit                   pcommit               intel
0x7.0.ebx         23  clflushopt            clflushopt                clflushopt            both
0x7.0.ebx         24  clwb                  clwb                      clwb                  both
0x7.0.ebx         25  intel_pt              intel-pt                  intel-pt              intel
0x7.0.ebx         26  avx512pf              avx512pf                  avx512pf              intel
0x7.0.ebx         27  avx512er              avx512er                  avx512er              intel
0x7.0.ebx         28  avx512cd              avx512cd                  avx512cd              both
0x7.0.ebx         29  sha_ni                sha-ni                    sha-ni                both
0x7.0.ebx         30  avx512bw              avx512bw                  avx512bw              both
0x7.0.ebx         31  avx512vl              avx512vl                  avx512vl              both
0x7.0.ecx          1  avx512vbmi            avx512vbmi                avx512vbmi            both
0x7.0.ecx          2  umip                  umip                      umip                  both
0x7.0.ecx          3  pku                   pku                       pku                   both
0x7.0.ecx          4  ospke                 -                         ospke                 both,os
0x7.0.ecx          5  waitpkg               waitpkg                   waitpkg               both
0x7.0.ecx          6  avx512_vbmi2          avx512vbmi2               avx512vbmi2           both
0x7.0.ecx          7  !shstk                -                         -                     both
0x7.0.ecx          8  gfni                  gfni                      gfni                  both
0x7.0.ecx          9  vaes                  vaes                      vaes                  both
0x7.0.ecx         10  vpclmulqdq            vpclmulqdq                vpclmulqdq            both
0x7.0.ecx         11  avx512_vnni           avx512vnni                avx512vnni            both
0x7.0.ecx         12  avx512_bitalg         avx512bitalg              avx512bitalg          both
0x7.0.ecx         13  tme                   -                         -                     both
0x7.0.ecx         14  avx512_vpopcntdq      avx512-vpopcntdq          avx512-vpopcntdq      both
0x7.0.ecx         16  la57                  la57                      la57                  both
0x7.0.ecx         22  rdpid                 rdpid                     rdpid                 both
0x7.0.ecx         24  bus_lock_detect       bus-lock-detect           bus-lock-detect       both
0x7.0.ecx         25  cldemote              cldemote                  cldemote              both
0x7.0.ecx         27  movdiri               movdiri                   movdiri               both
0x7.0.ecx         28  movdir64b             movdir64b                 movdir64b             both
0x7.0.ecx         29  enqcmd                -                         -                     both
0x7.0.ecx         30  sgx_lc                sgxlc                     sgxlc                 intel
0x7.0.ecx         31  -                     pks                       pks                   both
0x7.0.edx          2  avx512_4vnniw         avx512-4vnniw             avx512-4vnniw         intel
0x7.0.edx          3  avx512_4fmaps         avx512-4fmaps             avx512-4fmaps         intel
0x7.0.edx          4  fsrm                  fsrm                      fsrm                  both
0x7.0.edx          8  avx512_vp2intersect   avx512-vp2intersect       avx512-vp2intersect   both
0x7.0.edx          9  !srbds_ctrl           -                         -                     intel
0x7.0.edx         10  md_clear              md-clear                  md-clear              both
0x7.0.edx         11  !rtm_always_abort     -                         -                     intel
0x7.0.edx         13  !tsx_force_abort      -                         -                     intel
0x7.0.edx         14  serialize             serialize                 serialize             both
0x7.0.edx         15  !hybrid_cpu           -                         -                     intel
0x7.0.edx         16  tsxldtrk              tsx-ldtrk                 tsx-ldtrk             intel
0x7.0.edx         18  pconfig               -                         pconfig               intel
0x7.0.edx         19  arch_lbr              arch-lbr                  arch-lbr              intel
0x7.0.edx         20  ibt                   -                         -                     intel
0x7.0.edx         22  amx_bf16              amx-bf16                  amx-bf16              intel
0x7.0.edx         23  avx512_fp16           avx512-fp16               avx512-fp16           intel
0x7.0.edx         24  amx_tile              amx-tile                  amx-tile              intel
0x7.0.edx         25  amx_int8              amx-int8                  amx-int8              intel
0x7.0.edx         26  !spec_ctrl            spec-ctrl                 spec-ctrl             intel
0x7.0.edx         27  !intel_stibp          stibp                     stibp                 intel
0x7.0.edx         28  flush_l1d             flush-l1d                 -                     intel
0x7.0.edx         29  arch_capabilities     arch-capabilities         arch-capabilities     intel
0x7.0.edx         30  !core_capabilities    core-capability           core-capability       intel
0x7.0.edx         31  !spec_ctrl_ssbd       ssbd                      ssbd                  intel
0x7.1.eax          0  -                     sha512                    -                     both
0x7.1.eax          1  -                     sm3                       -                     both
0x7.1.eax          2  -                     sm4                       -                     both
0x7.1.eax          4  avx_vnni              avx-vnni                  avx-vnni              both
0x7.1.eax          5  avx512_bf16           avx512-bf16               avx512-bf16           both
0x7.1.eax          7  !cmpccxadd            cmpccxadd                 -                     both
0x7.1.eax          8  !arch_perfmon_ext     -                         -                     both
0x7.1.eax         10  !fzrm                 fzrm                      -                     both
0x7.1.eax         11  !fsrs                 fsrs                      -                     both
0x7.1.eax         12  !fsrc                 fsrc                      -                     both
0x7.1.eax         17  -                     fred                      -                     both
0x7.1.eax         18  !lkgs                 lkgs                      -                     both
0x7.1.eax         19  -                     wrmsrns                   -                     both
0x7.1.eax         21  !amx_fp16             amx-fp16                  -                     both
0x7.1.eax         23  !avx_ifma             avx-ifma                  -                     both
0x7.1.eax         26  lam                   lam                       -                     both
0xd.1.eax          0  xsaveopt              xsaveopt                  xsaveopt              both
0xd.1.eax          1  xsavec                xsavec                    xsavec                both
0xd.1.eax          2  xgetbv1               xgetbv1                   xgetbv1               both
0xd.1.eax          3  xsaves                xsaves                    xsaves                both,nomig
0xd.1.eax          4  !xfd                  xfd                       xfd                   both
0xf.1.edx          0  cqm_occup_llc         -                         -                     both,host
0xf.1.edx          1  cqm_mbm_total         -                         mbm_total             both,host
0xf.1.edx          2  cqm_mbm_local         -                         mbm_local             both,host
0x12.0.eax         0  -                     sgx1                      sgx1                  intel
0x12.0.eax         1  -                     sgx2                      sgx2                  intel
0x12.0.ebx         0  -                     sgx-exinfo                sgx-exinfo            intel
0x12.1.eax         1  -                     sgx-debug                 sgx-debug             intel
0x12.1.eax         2  -                     sgx-mode64                sgx-mode64            intel
0x12.1.eax         4  -                     sgx-provisionkey          sgx-provisionkey      intel
0x12.1.eax         5  -                     sgx-tokenkey              sgx-tokenkey          intel
0x12.1.eax         7  -                     sgx-kss                   sgx-kss               intel
0x14.0.ecx        31  -                     intel-pt-lip              intel-pt-lip          intel
0x80000001.0.ecx   0  lahf_lm               lahf-lm                   lahf_lm               both
0x80000001.0.ecx   1  cmp_legacy            cmp-legacy                cmp_legacy            amd
0x80000001.0.ecx   2  svm                   svm                       svm                   amd
0x80000001.0.ecx   3  extapic               extapic                   extapic               amd
0x80000001.0.ecx   4  cr8_legacy            cr8legacy                 cr8legacy             amd
0x80000001.0.ecx   5  abm                   abm                       abm                   both
0x80000001.0.ecx   6  sse4a                 sse4a                     sse4a                 amd
0x80000001.0.ecx   7  misalignsse           misalignsse               misalignsse           amd
0x80000001.0.ecx   8  3dnowprefetch         3dnowprefetch             3dnowprefetch         both
0x80000001.0.ecx   9  osvw                  osvw                      osvw                  amd
0x80000001.0.ecx  10  ibs                   ibs                       ibs                   amd
0x80000001.0.ecx  11  xop                   xop                       xop                   amd
0x80000001.0.ecx  12  skinit                skinit                    skinit                amd
0x80000001.0.ecx  13  wdt                   wdt                       wdt                   amd
0x80000001.0.ecx  15  lwp                   lwp                       lwp                   amd
0x80000001.0.ecx  16  fma4                  fma4                      fma4                  amd
0x80000001.0.ecx  17  tce                   tce                       tce                   amd
0x80000001.0.ecx  18  -                     -                         cvt16                 amd
0x80000001.0.ecx  19  nodeid_msr            nodeid-msr                nodeid_msr            amd
0x80000001.0.ecx  21  tbm                   tbm                       tbm                   amd
0x80000001.0.ecx  22  topoext               topoext                   topoext               amd
0x80000001.0.ecx  23  perfctr_core          perfctr-core              perfctr_core          amd
0x80000001.0.ecx  24  perfctr_nb            perfctr-nb                perfctr_nb            amd
0x80000001.0.ecx  26  bpext                 -                         -                     amd
0x80000001.0.ecx  27  ptsc                  -                         -                     amd
0x80000001.0.ecx  28  perfctr_llc           -                         -                     amd
0x80000001.0.ecx  29  mwaitx                -                         -                     amd
0x80000001.0.edx  11  syscall               syscall                   syscall               both
0x80000001.0.edx  19  mp                    -                         -                     amd
0x80000001.0.edx  20  nx                    nx                        nx                    both
0x80000001.0.edx  22  mmxext                mmxext                    mmxext                amd
0x80000001.0.edx  25  fxsr_opt              fxsr-opt                  fxsr_opt              amd
0x80000001.0.edx  26  pdpe1gb               pdpe1gb                   pdpe1gb               both
0x80000001.0.edx  27  rdtscp                rdtscp                    rdtscp                both
0x80000001.0.edx  29  lm                    lm                        lm                    both
0x80000001.0.edx  30  3dnowext              3dnowext                  3dnowext              amd
0x80000001.0.edx  31  3dnow                 3dnow                     3dnow                 amd
0x80000007.0.edx   7  hw_pstate             -                         -                     amd,host
0x80000007.0.edx   8  -                     invtsc                    invtsc                both,nomig
0x80000007.0.edx   9  cpb                   -                         -                     amd,host
0x80000007.0.edx  11  proc_feedback         -                         -                     amd,host
0x80000008.0.ebx   0  clzero                clzero                    clzero                amd
0x80000008.0.ebx   1  irperf                -                         -                     amd
0x80000008.0.ebx   2  xsaveerptr            xsaveerptr                xsaveerptr            amd
0x80000008.0.ebx   4  rdpru                 -                         -                     amd
0x80000008.0.ebx   9  wbnoinvd              wbnoinvd                  wbnoinvd              both
0x80000008.0.ebx  12  !amd_ibpb             ibpb                      ibpb                  amd
0x80000008.0.ebx  14  !amd_ibrs             ibrs                      ibrs                  amd
0x80000008.0.ebx  15  !amd_stibp            amd-stibp                 amd-stibp             amd
0x80000008.0.ebx  17  !amd_stibp_always_on  stibp-always-on           -                     amd
0x80000008.0.ebx  23  amd_ppin              -                         -                     amd
0x80000008.0.ebx  24  !amd_ssbd             amd-ssbd                  amd-ssbd              amd
0x80000008.0.ebx  25  virt_ssbd             virt-ssbd                 virt-ssbd             amd
0x80000008.0.ebx  26  !amd_ssb_no           amd-no-ssb                amd-no-ssb            amd
0x80000008.0.ebx  27  cppc                  -                         -                     amd
0x80000008.0.ebx  28  !amd_psfd             amd-psfd                  -                     amd
0x80000008.0.ebx  29  !btc_no               -                         -                     amd
0x80000008.0.ebx  31  brs                   -                         -                     amd
0x8000000a.0.edx   0  npt                   npt                       npt                   amd
0x8000000a.0.edx   1  lbrv                  lbrv                      lbrv                  amd
0x8000000a.0.edx   2  svm_lock              svm-lock                  svm-lock              amd
0x8000000a.0.edx   3  nrip_save             nrip-save                 nrip-save             amd
0x8000000a.0.edx   4  tsc_scale             tsc-scale                 tsc-scale             amd
0x8000000a.0.edx   5  vmcb_clean            vmcb-clean                vmcb-clean            amd
0x8000000a.0.edx   6  flushbyasid           flushbyasid               flushbyasid           amd
0x8000000a.0.edx   7  decodeassists         decodeassists             decodeassists         amd
0x8000000a.0.edx  10  pausefilter           pause-filter              pause-filter          amd
0x8000000a.0.edx  12  pfthreshold           pfthreshold               pfthreshold           amd
0x8000000a.0.edx  13  avic                  avic                      avic                  amd
0x8000000a.0.edx  15  v_vmsave_vmload       v-vmsave-vmload           v-vmsave-vmload       amd
0x8000000a.0.edx  16  vgif                  vgif                      vgif                  amd
0x8000000a.0.edx  18  x2avic                -                         -                     amd
0x8000000a.0.edx  20  v_spec_ctrl           -                         -                     amd
0x8000000a.0.edx  25  vnmi                  vnmi                      -                     amd
0x8000000a.0.edx  28  !svme_addr_chk        svme-addr-chk             svme-addr-chk         amd
0x80000021.0.eax   0  !no_nested_data_bp    no-nested-data-bp         -                     amd
0x80000021.0.eax   1  !wrmsr_xx_base_ns     -                         -                     amd
0x80000021.0.eax   2  !lfence_rdtsc         lfence-always-serializing -                     amd
0x80000021.0.eax   6  !null_sel_clr_base    null-sel-clr-base         -                     amd
0x80000021.0.eax   8  !autoibrs             auto-ibrs                 -                     amd
0x80000021.0.eax   9  !no_smm_ctl_msr       -                         -                     amd
0x80000021.0.eax  24  -                     eraps                     -                     amd
0x80000021.0.eax  27  !sbpb                 sbpb                      -                     amd
0x80000021.0.eax  28  !ibpb_brtype          ibpb-brtype               -                     amd
0x80000021.0.eax  29  !srso_no              srso-no                   -                     amd
0x80000021.0.eax  30  -                     srso-user-kernel-no       -                     amd
0xc0000001.0.edx   2  rng                   xstore                    -                     via
0xc0000001.0.edx   3  rng_en                xstore-en                 -                     via
0xc0000001.0.edx   6  ace                   xcrypt                    -                     via
0xc0000001.0.edx   7  ace_en                xcrypt-en                 -                     via
0xc0000001.0.edx   8  ace2                  ace2                      -                     via
0xc0000001.0.edx   9  ace2_en               ace2-en                   -                     via
0xc0000001.0.edx  10  phe                   phe                       -                     via
0xc0000001.0.edx  11  phe_en                phe-en                    -                     via
0xc0000001.0.edx  12  pmm                   pmm                       -                     via
0xc0000001.0.edx  13  pmm_en                pmm-en                    -                     via
msr:0xcf           5  -                     split-lock-detect         split-lock-detect     intel
msr:0x10a          0  -                     rdctl-no                  rdctl-no              intel
msr:0x10a          1  -                     ibrs-all                  ibrs-all              intel
msr:0x10a          2  -                     rsba                      rsba                  intel
msr:0x10a          3  -                     skip-l1dfl-vmentry        skip-l1dfl-vmentry    intel
msr:0x10a          4  -                     ssb-no                    ssb-no                intel
msr:0x10a          5  -                     mds-no                    mds-no                intel
msr:0x10a          6  -                     pschange-mc-no            pschange-mc-no        intel
msr:0x10a          7  -                     tsx-ctrl                  tsx-ctrl              intel
msr:0x10a          8  -                     taa-no                    taa-no                intel
"""

# Other names that users and tools write for the same bits, per vocabulary, mapped to the
# canonical name.  QEMU's own aliases (``sse3``, ``i64``...) appear in
# ``query-cpu-model-expansion`` replies; libvirt's come from its ``<alias>`` elements; the Linux
# ones are names older kernels printed (``altmovcr8`` in 2009) or the synthetic flag that is set
# exactly when the bit is (``nonstop_tsc`` follows CPUID 0x80000007 EDX[8]).  Spelling variants
# (``sse4_1``/``sse4-1``/``sse4.1``) need no entry: lookups ignore ``-``/``_``/``.``.
_ALIASES: dict[str, dict[str, str]] = {
    "qemu": {"sse3": "pni", "pclmuldq": "pclmulqdq", "i64": "lm", "xd": "nx", "ffxsr": "fxsr_opt"},
    "libvirt": {
        "sse3": "pni",
        "pclmulqdq": "pclmulqdq",
        "cqm": "cqm",
        "md_clear": "md_clear",
        "arch_capabilities": "arch_capabilities",
        "xd": "nx",
        "ffxsr": "fxsr_opt",
        "i64": "lm",
    },
    "linux": {"altmovcr8": "cr8_legacy", "sse5": "xop", "nonstop_tsc": "invtsc", "sse3": "pni"},
}

# Flags Linux prints in /proc/cpuinfo that are not one CPUID bit: derived from family rules,
# from several bits, from VMX capability MSRs or from kernel state.  They are recognised (so they
# do not produce "unknown flag" warnings) but never mapped to a feature.
LINUX_SYNTHETIC = frozenset(
    """
    constant_tsc up art arch_perfmon pebs bts rep_good acc_power nopl xtopology tsc_reliable
    cpuid extd_apicid amd_dcm aperfmperf rapl nonstop_tsc_s3 tsc_known_freq amd_lbr_v2 k8 k7 p3
    p4 zen zen1 zen2 zen3 zen4 zen5 ring3mwait cpuid_fault epb cat_l3 cat_l2 cdp_l3 cdp_l2 pti
    kaiser intel_ppin ssbd mba perfmon_v2 ibrs ibpb stibp ibrs_enhanced use_ibpb tpr_shadow
    flexpriority ept vpid ept_ad vmmcall xenpv tdx_guest split_lock_detect user_shstk
    amd_lbr_pmc_freeze cqm_llc retpoline retpoline_amd rethunk
    clear_bhb_loop total_memory_encryption sme sev sev_es sev_snp vm_page_flush sme_coherent
    v_tsc_aux rsb_ctxsw msr_spec_ctrl mfence_rdtsc
    overflow_recov succor smca amd_ibpb_ret ibpb_exit_to_user invpcid_single
    """.split()
)


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature bit: where it lives, what each vocabulary calls it, and how it behaves."""

    index: int
    msr: int | None
    leaf: int | None
    subleaf: int | None
    register: str | None
    bit: int
    linux: str | None
    qemu: str | None
    libvirt: str | None
    linux_hidden: bool
    vendor: str
    kind: str
    migratable: bool

    @property
    def name(self) -> str:
        """The canonical (display) name: Linux's, else QEMU's or libvirt's with ``_``."""
        return _display_name(self.linux, self.qemu, self.libvirt)

    @property
    def key(self) -> tuple:
        if self.msr is not None:
            return ("msr", self.msr, self.bit)
        return ("cpuid", self.leaf, self.subleaf, self.register, self.bit)

    @property
    def mask(self) -> int:
        """This feature's bit in a feature-set bitmask (see ``FeatureTable.mask_of``)."""
        return 1 << self.index

    @property
    def is_cpu_feature(self) -> bool:
        """False for bits that describe the OS or the hypervisor rather than the CPU."""
        return self.kind in ("feature", "host")

    @property
    def location(self) -> str:
        if self.msr is not None:
            return f"MSR 0x{self.msr:x}[{self.bit}]"
        return f"CPUID 0x{self.leaf:x}.{self.subleaf}:{self.register.upper()}[{self.bit}]"

    def name_in(self, vocabulary: str) -> str | None:
        if vocabulary == CANONICAL:
            return self.name
        if vocabulary not in VOCABULARIES:
            raise ValueError(f"unknown vocabulary {vocabulary!r}; use one of {VOCABULARIES}")
        return getattr(self, vocabulary)


def normalise(name: str) -> str:
    """Spelling-insensitive lookup key: QEMU and libvirt treat ``-``, ``_`` and ``.`` alike."""
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _display_name(linux: str | None, qemu: str | None, libvirt: str | None) -> str:
    if linux:
        return linux
    return (qemu or libvirt or "").replace("-", "_").replace(".", "_")


def _parse_location(text: str) -> tuple[int | None, int | None, int | None, str | None]:
    if text.startswith("msr:"):
        return int(text[4:], 16), None, None, None
    leaf, subleaf, register = text.split(".")
    return None, int(leaf, 16), int(subleaf), register


def _parse_table(text: str) -> tuple[Feature, ...]:
    features = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        location, bit, linux, qemu, libvirt, flags = line.split()
        msr, leaf, subleaf, register = _parse_location(location)
        vendor, *extra = flags.split(",")
        kinds = [flag for flag in extra if flag != "nomig"]
        features.append(
            Feature(
                index=len(features),
                msr=msr,
                leaf=leaf,
                subleaf=subleaf,
                register=register,
                bit=int(bit),
                linux=None if linux == "-" else linux.lstrip("!"),
                qemu=None if qemu == "-" else qemu,
                libvirt=None if libvirt == "-" else libvirt,
                linux_hidden=linux.startswith("!"),
                vendor=vendor,
                kind=kinds[0] if kinds else "feature",
                migratable="nomig" not in extra,
            )
        )
    return tuple(features)


class FeatureTable:
    """The parsed table with lookups by name (any vocabulary) and by location."""

    def __init__(self, features: tuple[Feature, ...]):
        self.features = features
        self.by_name: dict[str, Feature] = {}
        self._by_vocabulary: dict[str, dict[str, Feature]] = {v: {} for v in VOCABULARIES}
        self.by_cpuid: dict[tuple[int, int, str], list[Feature]] = {}
        self.by_msr: dict[int, list[Feature]] = {}
        for feature in features:
            if feature.name in self.by_name:
                raise ValueError(f"duplicate canonical feature name {feature.name!r}")
            self.by_name[feature.name] = feature
            for vocabulary in VOCABULARIES:
                own = feature.name_in(vocabulary)
                if own:
                    self._add(vocabulary, own, feature)
            if feature.msr is not None:
                self.by_msr.setdefault(feature.msr, []).append(feature)
            else:
                word = (feature.leaf, feature.subleaf, feature.register)
                self.by_cpuid.setdefault(word, []).append(feature)
        for vocabulary, aliases in _ALIASES.items():
            for alias, canonical in aliases.items():
                self._by_vocabulary[vocabulary].setdefault(
                    normalise(alias), self.by_name[canonical]
                )

    def _add(self, vocabulary: str, name: str, feature: Feature) -> None:
        index = self._by_vocabulary[vocabulary]
        other = index.setdefault(normalise(name), feature)
        if other is not feature:
            raise ValueError(f"{vocabulary} name {name!r} names two bits: {other} and {feature}")

    def __iter__(self):
        return iter(self.features)

    def __len__(self) -> int:
        return len(self.features)

    def lookup(self, name: str, vocabulary: str | None = None) -> Feature | None:
        """The feature a name means, or None.

        With a vocabulary, only that vocabulary's names (and aliases) count: Linux ``ibpb`` is a
        synthetic flag while QEMU ``ibpb`` is CPUID 0x80000008 EBX[12], so a parser must say which
        vocabulary it reads.  Without one, canonical names win, then Linux, QEMU and libvirt.
        """
        key = normalise(name)
        if vocabulary is not None:
            return self._by_vocabulary[vocabulary].get(key)
        found = self.by_name.get(name.strip().lower())
        if found is not None:
            return found
        for each in VOCABULARIES:
            found = self._by_vocabulary[each].get(key)
            if found is not None:
                return found
        return None

    def mask_of(self, features: Iterable[Feature]) -> int:
        mask = 0
        for feature in features:
            mask |= feature.mask
        return mask

    def from_mask(self, mask: int) -> list[Feature]:
        return [feature for feature in self.features if mask >> feature.index & 1]

    @cached_property
    def cpu_feature_mask(self) -> int:
        """Every bit that describes the CPU itself (not OS state, not the hypervisor bit)."""
        return self.mask_of(f for f in self.features if f.is_cpu_feature)


TABLE = FeatureTable(_parse_table(_TABLE))
