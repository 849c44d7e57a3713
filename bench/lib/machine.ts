import os from "node:os";

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  platform: string;
  date: string;
  /** 1-minute load average when the run started and when it ended (other work on a shared machine). */
  loadAverage: { start: number; end?: number };
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    loadAverage: { start: Math.round(os.loadavg()[0]! * 100) / 100 },
  };
}

export function loadNow(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}
