// The run pages' line colours.

// 20 colours before one repeats (compare views of many runs), dark enough on white
export const COLORS = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#1b7c83', '#bf3989',
  '#4d2d00', '#6e7781', '#116329', '#0550ae', '#a40e26', '#9a6700', '#6639ba', '#d1242f',
  '#0a3069', '#ec6547', '#2da44e', '#e85aad', '#57606a'];
