import os from 'node:os';

export interface MachineInfo {
  date: string;
  node: string;
  platform: string;
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  loadAverage: number[];
}

/** Ratios are only comparable on the machine they were taken on; the report says which one it was. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
