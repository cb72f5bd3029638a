// The side panel's tabs, in order (the status bar opens "system" from its accelerator label).
export const PANEL_TABS = [
  { id: 'page-tables', title: 'Page tables' },
  { id: 'drivers', title: 'Drivers' },
  { id: 'kernel-log', title: 'Kernel log' },
  { id: 'system', title: 'System' },
] as const;

export type PanelTab = (typeof PANEL_TABS)[number]['id'];
