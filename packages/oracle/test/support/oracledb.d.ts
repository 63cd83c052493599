/** The few members of node-oracledb (which ships no types) that the tests use. */
declare module 'oracledb' {
  const oracledb: {
    readonly CLOB: unknown;
    readonly Connection: { readonly prototype: object };
    readonly [constant: string]: unknown;
  };
  export default oracledb;
}
