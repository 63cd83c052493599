// What the bench's SVG charts share: the document around them (size, white ground, font, classes), escaping, and the
// colours a target is marked with.

/** Text for SVG content and attributes. */
export const escape = (value) => String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A target met, missed, or not measured (text and marks; the words beside them say the same for greyscale). */
export const MET_COLOURS = { met: '#15803d', missed: '#b91c1c', none: '#6b7280' };

const STYLE = '.panel{font-size:14px;font-weight:600}.label{font-size:12px}.value{font-size:11px}.tick{font-size:11px;fill:#555}.grid{stroke:#ccc;stroke-dasharray:2 3}';

/** An SVG document `width` × `height` on white with the charts' font and classes (plus `style`), around `body`. */
export function svgDocument(width, height, body, style = '') {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">`,
    `<style>${STYLE}${style}</style>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
