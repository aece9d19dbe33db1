// Raw μ-law fixtures are imported as files: the path works from source and inside the compiled binary.
declare module "*.ulaw" {
  const path: string;
  export default path;
}
