/** A user's project: it reads the library through the packages io.leviathan.trainer and io.leviathan.core export. */
module org.example.consumer {
    requires io.leviathan.trainer; // and, through it, io.leviathan.core
}
