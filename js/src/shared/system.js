// Friendly names and units of the system metrics that capture/system.py records (the keys
// are W&B's, so runs of the official client read the same).

const NAMES = {
  'system.cpu': ['CPU', '%'],
  'system.memory': ['memory used', '%'],
  'system.disk': ['disk used', '%'],
  'system.disk.in': ['disk read since start', 'MB'],
  'system.disk.out': ['disk written since start', 'MB'],
  'system.network.recv': ['network received since start', 'bytes'],
  'system.network.sent': ['network sent since start', 'bytes'],
  'system.proc.cpu.percent': ['process CPU', '%'],
  'system.proc.cpu.threads': ['process threads', ''],
  'system.proc.memory.availableMB': ['memory available', 'MB'],
  'system.proc.memory.percent': ['process memory', '%'],
  'system.proc.memory.rssMB': ['process memory (RSS)', 'MB'],
};

const GPU = {
  gpu: ['utilization', '%'],
  memory: ['memory busy', '%'],
  memoryAllocated: ['memory allocated', '%'],
  memoryAllocatedBytes: ['memory allocated', 'bytes'],
  temp: ['temperature', '°C'],
  powerWatts: ['power', 'W'],
};

/** {name, unit} of a system metric key; an unknown key is its own name, with no unit. */
export function systemLabel(key) {
  const known = NAMES[key];
  if (known) return { name: known[0], unit: known[1] };
  const gpu = /^system\.gpu\.(\d+)\.(\w+)$/.exec(key);
  if (gpu && GPU[gpu[2]]) return { name: `GPU ${gpu[1]} ${GPU[gpu[2]][0]}`, unit: GPU[gpu[2]][1] };
  return { name: key, unit: '' };
}

/** The chart title of a system metric: "process memory (RSS) · MB". */
export function systemTitle(key) {
  const { name, unit } = systemLabel(key);
  return unit ? `${name} · ${unit}` : name;
}
