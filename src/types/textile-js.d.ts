// textile-js ships no type declarations; this is the one call we use.
declare module 'textile-js' {
  function textile(text: string, options?: { breaks?: boolean }): string;
  export default textile;
}
